"""Train: pick data and a model, set the training, start it in the background, watch it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import tasks
from core.base.cli import parse_json_object
from core.base.errors import InputError
from core.base.i18n import N_, _, duration, language, ngettext, number
from core.data import folders as datasets
from core.data import mnist as mnist_files
from core.data.zip_import import import_zip
from core.models import (
    KINDS,
    PRESETS,
    SPEC_SETTINGS,
    ModelSpec,
    ModelSummary,
    get_preset,
    layers_from_rows,
    layers_to_rows,  # fmt: skip
    summarize_spec,
    table_columns,
)
from core.models.specs import LAYER_FIELD
from core.plots.architecture import architecture_figure
from core.plots.style import CHART_CONFIG
from core.runs.jobs import JobManager, queue_position
from core.runs.store import ACTIVE_STATES, RunStore
from core.training import SETTINGS, TrainConfig, estimate_epoch_seconds, presets_for
from core.training.augment import AUGMENTATIONS
from pages._data import data_status, mnist_test_digits, refresh_data_status, warn_no_mnist
from pages._i18n import localized, localized_numbers
from pages._prefill import KEY as PREFILL_KEY
from pages._prefill import back_to_preset, clear_prefill, prefill_for, select_prefill
from pages._router import ensure_router
from pages._runs import machine_speed, render_run_progress
from pages._session import actor, init_state
from pages._settings_form import NOT_USED, layer_table_config, settings_form
from pages._sidebar import refresh_active_runs
from pages._tables import choose_table
from pages._widgets import file_upload

ensure_router()

DATA_KINDS = [N_("MNIST digits"), N_("Image folder"), N_("Upload a zip"), N_("Table (CSV)")]

DEFAULTS = {"train_data_kind": "MNIST digits", "train_edit_layers": False, "train_run_id": None}
init_state(DEFAULTS)
S = st.session_state


# ----- data ------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, ttl=300)
def scan(folder: str, lang: str) -> datasets.FolderScan:  # lang: the skipped files' reasons are text
    return datasets.scan_image_folder(folder)


@st.cache_data(show_spinner=False)
def mnist_train_size(path: str) -> int:
    return int(mnist_files.load_mnist_npz(path).y_train.shape[0])


@st.cache_data(show_spinner=False, ttl=300)
def thumbnails(files: tuple[str, ...], size: int = 96) -> list[np.ndarray]:
    from core.data.images import load_array

    return [load_array(f, "grayscale", size) for f in files]


def choose_data() -> dict | None:
    """Renders the data section; returns ``{"task", "data", "classes", "n", "separate_test"}`` or None.

    ``n`` is the images available for training and validation (None: MNIST from Keras's download).
    """
    st.subheader(_("1. Data"))
    status = data_status()
    kind = st.segmented_control(_("Data"), DATA_KINDS, key="train_data_kind", required=True, label_visibility="collapsed",
                                format_func=_)  # fmt: skip
    if kind == "MNIST digits":
        if not status["mnist"]:
            warn_no_mnist(status["root"])
            return {"task": "mnist", "data": None, "classes": [str(d) for d in range(10)], "n": None,
                    "separate_test": True}  # fmt: skip
        path = status["mnist"][0]
        try:
            x, y = mnist_test_digits(path)
        except InputError as exc:
            st.error(str(exc))
            return None
        n_train = mnist_train_size(path)
        st.caption(_("`{path}`: {train} training digits (part kept for validation), {test} test digits.").format(
            path=path, train=number(n_train), test=number(len(y))))  # fmt: skip
        picks = [int(np.flatnonzero(y == d)[0]) for d in range(10) if (y == d).any()]
        st.image([x[i] for i in picks], caption=[str(y[i]) for i in picks], width=56)
        return {"task": "mnist", "data": path, "classes": [str(d) for d in range(10)], "n": n_train,
                "separate_test": True}  # fmt: skip

    if kind == "Upload a zip":
        upload_zip()
        return None

    if kind == "Table (CSV)":
        return choose_table()

    if not status["folders"]:
        st.info(_("No image folders in the data folder yet: upload a zip of class folders, or put one in `{root}` "
                  "(one subfolder per class).").format(root=status["root"]))  # fmt: skip
        return None
    folder = st.selectbox(_("Dataset"), status["folders"], format_func=lambda p: Path(p).name, key="train_folder")
    try:
        with st.spinner(_("Checking every image of the dataset...")):
            found = scan(folder, language())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    counts = found.counts()
    st.dataframe(
        pd.DataFrame({_("class"): list(counts), _("images"): list(counts.values())}), hide_index=True, width="content"
    )
    if found.skipped:
        n = len(found.skipped)
        with st.expander(ngettext("{n} file will be skipped (unreadable or not an image)",
                                  "{n} files will be skipped (unreadable or not images)", n).format(n=n)):  # fmt: skip
            st.dataframe(pd.DataFrame([dataclasses.asdict(s) for s in found.skipped]).rename(
                columns={"path": _("file"), "reason": _("reason")}), hide_index=True)  # fmt: skip
    for ci, name in enumerate(found.class_names):
        files = tuple(f for f, lab in zip(found.train_files, found.train_labels) if lab == ci)[:8]
        st.image(thumbnails(files), caption=[name] + [""] * (len(files) - 1), width=72)
    return {"task": "images", "data": folder, "classes": found.class_names, "n": len(found.train_files),
            "separate_test": bool(found.test_files)}  # fmt: skip


def upload_zip() -> None:
    st.caption(_("A zip with one folder per class (optionally under train/ and test/). Non-images are skipped."))
    up = file_upload(_("Zip of class folders"), type=["zip"], key="train_zip")
    stem = Path(up.name).stem if up else ""
    name = st.text_input(_("Dataset name"), placeholder=stem or "my-dataset", key="train_zip_name") or stem
    if st.button(_("Import"), disabled=up is None, icon=":material/upload:"):
        bar = st.progress(0.0, _("Extracting and checking images..."))
        try:
            report = import_zip(up, name or "dataset", progress=lambda d, t: bar.progress(d / max(t, 1)),
                                actor=actor())  # fmt: skip
        except InputError as exc:
            bar.empty()
            st.error(str(exc), icon=":material/error:")
            return
        bar.empty()
        refresh_data_status()
        counts = ", ".join(f"{c}: {k}" for c, k in report.class_counts.items())
        st.success(_("Imported **{name}** ({counts}). Choose it under *Image folder*.").format(name=report.name, counts=counts),
                   icon=":material/check:")  # fmt: skip
        if report.skipped:
            n = len(report.skipped)
            with st.expander(ngettext("{n} file skipped", "{n} files skipped", n).format(n=n)):
                st.dataframe(pd.DataFrame(report.skipped, columns=[_("file"), _("reason")]), hide_index=True)


# ----- model -----------------------------------------------------------------------------


def choose_model(data: dict) -> ModelSpec | None:
    st.subheader(_("2. Model"))
    task = data["task"]
    names = presets_for(task)  # the fast recipes first: a first click should not be the 130 M model
    preset = st.selectbox(_("Preset"), names, key=f"train_preset_{task}",
                          format_func=lambda n: f"{n}: {_(PRESETS[n].description).split('. ')[0]}")  # fmt: skip
    spec = get_preset(preset)
    st.caption(_(spec.description) + (" " + _("Source: {source}").format(source=spec.source) if spec.source else ""))
    if not all(KINDS[layer.kind].editable for layer in spec.layers):
        return spec
    if st.toggle(_("Edit the layers"), key="train_edit_layers"):
        loaded = load_spec_upload()
        if loaded is not None:
            spec, preset = loaded, f"upload-{loaded.name}"
        layers = layer_table(spec, preset, task)
        if layers is None:
            return None
        spec = dataclasses.replace(spec, name="custom", layers=layers, description=_("Edited from {preset}.").format(
            preset=preset))  # fmt: skip
        try:  # problems are shown here, under the table, not far below with the summary
            if tasks.get(task).inputs == "rows":
                table_model_summary(spec, data)
            else:
                summarize_spec(spec, input_shape_now(spec, task), len(data["classes"]))
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
        st.download_button(_("Save this model as JSON"), json.dumps(spec.to_dict(), indent=1), "model-spec.json",
                           "application/json", icon=":material/download:", key="train_spec_download")  # fmt: skip
    return spec


def input_shape_now(spec: ModelSpec, task: str) -> tuple[int, int, int]:
    """The input the form will train with (its image size and colour widgets may not exist yet)."""
    fixed = tasks.get(task).fixed_input
    if fixed is not None:
        return fixed
    size = S.get(f"t_image_size_{spec.name}", spec.image_size)
    return size, size, 1 if S.get(f"t_color_mode_{spec.name}", spec.color_mode) == "grayscale" else 3


def _cell_text(value) -> str:
    """A table cell as text: "" for not set, "32" rather than "32.0" for whole numbers."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def layer_table(spec: ModelSpec, preset: str, task: str) -> list | None:
    """The editable layer table (the kinds of ``task``), with buttons to move a row; returns the layers or None."""
    kinds = tasks.get(task).layer_kinds
    base_key, version_key = f"train_rows_{preset}", f"train_rows_version_{preset}"
    if base_key not in S:
        S[base_key], S[version_key] = layers_to_rows(spec.layers, kinds), 0
    st.caption(_("**+** under the table adds a layer at the end; select rows on the left and press Delete to "
                 "remove them; move a layer with the buttons below. Cells a layer kind does not use are ignored."))  # fmt: skip
    frame = pd.DataFrame(S[base_key], columns=table_columns(kinds))
    for col in frame.columns:  # cells a kind does not use are blank, not the word "None"
        if col == "kind" or LAYER_FIELD[col].kind is bool:
            continue
        blank = NOT_USED if LAYER_FIELD[col].choices else ""
        frame[col] = [_cell_text(v) or blank for v in frame[col]]
    edited = st.data_editor(frame, num_rows="dynamic", key=f"train_layers_{preset}_{S[version_key]}",
                            column_config=layer_table_config(kinds), width="stretch")  # fmt: skip
    records = pd.DataFrame(edited).to_dict("records")
    move_key = f"train_move_{preset}"
    if f"{move_key}_next" in S:  # the moved layer stays selected (set before its widget exists)
        S[move_key] = S.pop(f"{move_key}_next")
    a, b, c = st.columns([2, 1, 1], vertical_alignment="bottom")
    n = a.number_input(_("Layer to move (row number)"), 1, max(1, len(records)), key=move_key)
    step = -1 if b.button(_("Up"), icon=":material/arrow_upward:", width="stretch", help=_("Move it up")) else 0
    step = 1 if c.button(_("Down"), icon=":material/arrow_downward:", width="stretch", help=_("Move it down")) else step
    if step and 0 <= n - 1 + step < len(records):
        records.insert(n - 1 + step, records.pop(n - 1))
        S[base_key], S[version_key] = records, S[version_key] + 1  # a fresh editor over the new order
        S[f"{move_key}_next"] = n + step
        st.rerun()
    try:
        return layers_from_rows(records, kinds, tasks.get(task).empty_model_ok)
    except InputError as exc:
        st.error(_("The layer table is not valid: {problem}").format(problem=exc), icon=":material/error:")
        return None


def load_spec_upload() -> ModelSpec | None:
    """A model spec uploaded as JSON (one saved here, or written for ``--spec``), checked."""
    up = file_upload(_("Load a model spec (.json)"), type=["json"], key="train_spec_upload")
    if up is None:
        return None
    try:
        return ModelSpec.from_dict(parse_json_object(up.getvalue(), N_("model spec")))
    except InputError as exc:
        st.error(f"{up.name}: {exc}", icon=":material/error:")
        return None


def show_model(summary: ModelSummary, table: bool = False) -> None:
    """Per-layer summary, warnings and diagram: arithmetic only, nothing is built.

    Args:
        table: a table model (the parameters are what matter; its multiply-adds are per row, not per image).
    """
    layer, shape, params, macs = _("layer"), _("output shape"), _("parameters"), _("multiply-adds")
    rows = [{layer: r.label, shape: str(tuple(r.output_shape)), params: r.params, macs: r.macs}
            for r in summary.layers]  # fmt: skip
    st.dataframe(localized_numbers(pd.DataFrame(rows), decimals={params: 0, macs: 0}), hide_index=True,
                 width="stretch")  # fmt: skip
    if table:
        st.markdown(_("**{params} parameters**, {macs} multiply-adds per row; the preprocessed row holds {width} "
                      "numbers.").format(params=number(summary.total_params), macs=number(summary.total_macs),
                                         width=number(summary.input_shape[0])))  # fmt: skip
    else:
        st.markdown(
            _("**{params} parameters** ({mb} MB as float32), **{macs} M multiply-adds** per image, input {shape}.").format(
                params=number(summary.total_params), mb=number(summary.total_params * 4 / 1e6, 1),
                macs=number(summary.total_macs / 1e6, 1), shape=summary.input_shape)
        )  # fmt: skip
    for w in summary.warnings:
        st.warning(w, icon=":material/warning:")
    diagram = [("Input", _("Input"), tuple(summary.input_shape), 0)]
    diagram += [(r.kind, KINDS[r.kind].short or r.kind, tuple(r.output_shape), r.params) for r in summary.layers]
    st.plotly_chart(architecture_figure(diagram), config=CHART_CONFIG, key="arch")


# ----- settings --------------------------------------------------------------------------


def choose_augmentation(spec: ModelSpec) -> dict:
    st.markdown(_("**Augmentation** (random changes that keep the label; only on training images)"))
    cols = st.columns(len(AUGMENTATIONS))
    augment = {}
    for col, (name, entry) in zip(cols, AUGMENTATIONS.items()):
        if col.checkbox(_(entry.value.label), value=name in spec.augment, key=f"t_aug_{name}_{spec.name}",
                        help=_(entry.value.help)):  # fmt: skip
            augment[name] = spec.augment.get(name, entry.value.default)
    if "flip" in augment:
        st.caption(_("Flipping keeps frontal/lateral labels, but not for digits or text."))
    return augment


def choose_settings(spec: ModelSpec, task: str, data: str | None, chosen: dict | None = None) -> TrainConfig | None:
    """The training form; returns the checked config, or None (with a message) when a value is refused.

    Args:
        chosen: settings already chosen on the page (a table's target, task and left-out columns).
    """
    st.subheader(_("3. Training"))
    current = {**{s.name: s.default for s in SETTINGS}, **{s.name: getattr(spec, s.name) for s in SPEC_SETTINGS}}
    pre = prefill_for(spec.name, task)
    if pre is not None:  # opened from Learning curves: that run's values, with the suggested change
        old = pre[0]
        current = {s.name: getattr(old.spec if s.owner == "spec" else old, s.name) for s in SETTINGS}
        spec = dataclasses.replace(spec, augment=dict(old.spec.augment))
    values = settings_form(current, task, spec.name, skip=tasks.get(task).form_skips) | (chosen or {})
    augment = choose_augmentation(spec) if tasks.get(task).augmentation else dict(spec.augment)
    try:
        cfg = TrainConfig.from_preset(task, data, spec.name, dataclasses.replace(spec, augment=augment), values,
                                      name=spec.name)  # fmt: skip
        tasks.validate(cfg)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    return cfg


def table_model_summary(spec: ModelSpec, data: dict) -> ModelSummary:
    """The arithmetic summary of the table model for the data section's choices (nothing is built).

    Raises:
        InputError: the layers or the columns cannot make a table model.
    """
    from core.tasks.table.data import plan_table, table_summary

    cfg = TrainConfig.from_preset("table", data["data"], spec=spec, settings=data["settings"])
    plan = plan_table(cfg, data["table"])  # the page's cached read: no second pass over the file
    return table_summary(spec, plan.input_width(), plan.outputs())


def show_table_model(summary: ModelSummary, data: dict) -> None:
    """The table model's summary, and where its preprocessing lives."""
    show_model(summary, table=True)
    st.caption(
        ngettext("The input: {n} column ({columns}), numbers normalised and categories one-hot encoded inside the "
                 "model, so the saved file predicts from raw rows.",
                 "The input: {n} columns ({columns}), numbers normalised and categories one-hot encoded inside the "
                 "model, so the saved file predicts from raw rows.", len(data["features"])).format(
            n=len(data["features"]), columns=", ".join(data["features"]))
    )  # fmt: skip


def time_estimate(cfg: TrainConfig, summary: ModelSummary, data: dict) -> None:
    n = tasks.get(cfg.task).planned_train_size(cfg, data["n"], data["separate_test"])
    if n is None:
        return
    factor, learnt = machine_speed()  # how this machine's finished runs compared with the arithmetic
    est = estimate_epoch_seconds(summary.total_macs, n, cfg.spec.batch_size) * factor
    how = (ngettext("An estimate from multiply-adds, corrected by {n} finished run on this machine; not a timing.",
                    "An estimate from multiply-adds, corrected by {n} finished runs on this machine; not a timing.",
                    learnt).format(n=learnt) if learnt
           else _("An estimate from multiply-adds, calibrated on a 2-core CPU until a run finishes here; not a timing."))  # fmt: skip
    st.caption(
        ngettext("Estimated **{seconds} s per epoch** on {n} training images (about {total} for {epochs} epoch, less "
                 "if early stopping fires).",
                 "Estimated **{seconds} s per epoch** on {n} training images (about {total} for {epochs} epochs, less "
                 "if early stopping fires).", cfg.spec.epochs).format(
            seconds=number(est, 0 if est >= 10 else 1), n=number(n), total=duration(est * cfg.spec.epochs),
            epochs=cfg.spec.epochs) + " " + how
    )  # fmt: skip


# ----- page --------------------------------------------------------------------------------

st.title(_("Train a model"))
manager = JobManager()
manager.pump()
select_prefill(data_status()["folders"])
if S.get(PREFILL_KEY):
    note = S[PREFILL_KEY]
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info(_("Pre-filled from run **{run}** ({finding}): {changes}. Check the form below, then press Train.").format(
        run=note["run"], finding=note["finding"], changes="; ".join(note["changes"])), icon=":material/tips_and_updates:")  # fmt: skip
    c2.button(_("Use the preset's values"), key="train_prefill_clear", on_click=back_to_preset)

data = choose_data()
if data is not None:
    spec = choose_model(data)
    cfg = choose_settings(spec, data["task"], data["data"], data.get("settings")) if spec is not None else None
    summary = None
    if cfg is not None and tasks.get(data["task"]).inputs == "rows":
        with st.expander(_("Model summary and diagram"), expanded=True):
            try:
                summary = table_model_summary(cfg.spec, data)
            except InputError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                show_table_model(summary, data)
    elif cfg is not None:
        with st.expander(_("Model summary, diagram and time estimate"), expanded=True):
            try:
                summary = summarize_spec(cfg.spec, cfg.input_shape(), len(data["classes"]))
            except InputError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                show_model(summary)
                time_estimate(cfg, summary, data)
    active = manager.active()
    label = _("Train") if not active else ngettext("Add to the queue ({n} job ahead)", "Add to the queue ({n} jobs ahead)",
                                                   len(active)).format(n=len(active))  # fmt: skip
    if st.button(label, type="primary", disabled=summary is None, icon=":material/play_arrow:"):
        try:
            S.train_run_id = manager.submit(tasks.Job(cfg), actor=actor()).id
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            clear_prefill()
            refresh_active_runs()
            st.rerun()  # show the new job (and the queue button, and the sidebar's "Training now") at once

st.subheader(_("4. Progress"))
runs = RunStore().list()
if not runs:
    st.caption(_("No runs yet."))
else:
    ids = [r.id for r in runs]
    if S.train_run_id not in ids:
        S.train_run_id = next((r.id for r in runs if r.status().get("status") in ACTIVE_STATES), ids[0])
    st.selectbox(_("Run"), ids, key="train_run_id")
    run_id = S.train_run_id
    live = RunStore().get(run_id).status().get("status") in ACTIVE_STATES

    @st.fragment(run_every=1.0 if live else None)
    @localized
    def progress_view() -> None:
        JobManager().pump()
        try:
            run = RunStore().get(run_id)
        except InputError:  # deleted meanwhile (from Learning curves, maybe by someone else)
            st.warning(_("Run {run} was deleted.").format(run=run_id))
            return
        pos = queue_position(manager, run_id)
        render_run_progress(run, pos)
        if run.status().get("status") in ACTIVE_STATES:
            c1, c2 = st.columns([1, 4])
            if c1.button(_("Stop"), icon=":material/stop:", key="stop"):
                st.info(JobManager().stop(run_id, actor=actor()))
            if run.stop_requested() and c2.button(_("Force stop (kill now)"), key="force"):
                st.warning(JobManager().stop(run_id, actor=actor(), force=True))
        elif live:
            st.rerun()  # it just ended: rerun the page once to stop the timer

    progress_view()
