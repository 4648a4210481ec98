"""Train: pick data and a model, set the training, start it in the background, watch it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import datasets, plots
from core.architectures import PRESETS, ModelSpec, describe, get_preset, layers_from_rows, layers_to_rows
from core.errors import InputError
from core.jobs import JobManager, queue_position
from core.runs import ACTIVE_STATES, RunStore
from core.training import TrainConfig, estimate_epoch_seconds
from core.zip_import import import_zip
from pages._common import data_status, ensure_router, mnist_test_digits, refresh_data_status, render_run_progress

ensure_router()

DATA_KINDS = ["MNIST digits", "Image folder", "Upload a zip"]
LAYER_KINDS = ["Conv2D", "MaxPooling2D", "AveragePooling2D", "BatchNormalization", "Activation",
               "Dropout", "Flatten", "GlobalAveragePooling2D", "Dense"]  # fmt: skip
OPTIMIZERS = ["adam", "adamw", "sgd", "rmsprop"]
AUGMENTS = {  # option -> (label, default strength when switched on)
    "flip": ("Horizontal flip", "horizontal"),
    "rotation": ("Rotation (fraction of a turn)", 0.05),
    "zoom": ("Zoom", 0.1),
    "translation": ("Shift", 0.1),
    "contrast": ("Contrast", 0.2),
    "brightness": ("Brightness", 0.2),
}

DEFAULTS = {"train_data_kind": "MNIST digits", "train_edit_layers": False, "train_run_id": None}
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)
S = st.session_state


# ----- data ------------------------------------------------------------------------------


@st.cache_data(show_spinner="Checking every image of the dataset...", ttl=300)
def scan(folder: str) -> datasets.FolderScan:
    return datasets.scan_image_folder(folder)


@st.cache_data(show_spinner=False)
def mnist_train_size(path: str) -> int:
    return int(datasets.load_mnist_npz(path).y_train.shape[0])


@st.cache_data(show_spinner=False, ttl=300)
def thumbnails(files: tuple[str, ...], size: int = 96) -> list[np.ndarray]:
    from core.images import load_array

    return [load_array(f, "grayscale", size) for f in files]


def choose_data() -> dict | None:
    """Renders the data section; returns ``{"task", "data", "classes", "n"}`` or None."""
    st.subheader("1. Data")
    status = data_status()
    kind = st.segmented_control("Data", DATA_KINDS, key="train_data_kind", required=True, label_visibility="collapsed")
    if kind == "MNIST digits":
        if not status["mnist"]:
            st.warning(
                f"No `mnist.npz` in the data folder (`{status['root']}`). Put one there (Keras key names "
                "x_train, y_train, x_test, y_test), or start anyway: training then tries Keras's download, "
                "which needs internet.",
                icon=":material/download:",
            )
            return {"task": "mnist", "data": None, "classes": [str(d) for d in range(10)], "n": 54_000}
        path = status["mnist"][0]
        try:
            x, y = mnist_test_digits(path)
        except InputError as exc:
            st.error(str(exc))
            return None
        n_train = mnist_train_size(path)
        st.caption(f"`{path}`: {n_train:,} training digits (part kept for validation), {len(y):,} test digits.")
        picks = [int(np.flatnonzero(y == d)[0]) for d in range(10) if (y == d).any()]
        st.image([x[i] for i in picks], caption=[str(y[i]) for i in picks], width=56)
        return {"task": "mnist", "data": path, "classes": [str(d) for d in range(10)], "n": n_train}

    if kind == "Upload a zip":
        upload_zip()
        return None

    if not status["folders"]:
        st.info("No image folders in the data folder yet: upload a zip of class folders, or put one in "
                f"`{status['root']}` (one subfolder per class).")  # fmt: skip
        return None
    folder = st.selectbox("Dataset", status["folders"], format_func=lambda p: Path(p).name, key="train_folder")
    try:
        found = scan(folder)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    counts = found.counts()
    st.dataframe(
        pd.DataFrame({"class": list(counts), "images": list(counts.values())}), hide_index=True, width="content"
    )
    if found.skipped:
        with st.expander(f"{len(found.skipped)} file(s) will be skipped (unreadable or not images)"):
            st.dataframe(pd.DataFrame([dataclasses.asdict(s) for s in found.skipped]), hide_index=True)
    for ci, name in enumerate(found.class_names):
        files = tuple(f for f, lab in zip(found.train_files, found.train_labels) if lab == ci)[:8]
        st.image(thumbnails(files), caption=[name] + [""] * (len(files) - 1), width=72)
    n = len(found.train_files)
    return {
        "task": "images",
        "data": folder,
        "classes": found.class_names,
        "n": int(n * 0.7) if not found.test_files else n,
    }


def upload_zip() -> None:
    st.caption("A zip with one folder per class (optionally under train/ and test/). Non-images are skipped.")
    up = st.file_uploader("Zip of class folders", type=["zip"], key="train_zip")
    stem = Path(up.name).stem if up else ""
    name = st.text_input("Dataset name", placeholder=stem or "my-dataset", key="train_zip_name") or stem
    if st.button("Import", disabled=up is None, icon=":material/upload:"):
        bar = st.progress(0.0, "Extracting and checking images...")
        try:
            report = import_zip(up, name or "dataset", progress=lambda d, t: bar.progress(d / max(t, 1)))
        except InputError as exc:
            bar.empty()
            st.error(str(exc), icon=":material/error:")
            return
        bar.empty()
        refresh_data_status()
        counts = ", ".join(f"{c}: {k}" for c, k in report.class_counts.items())
        st.success(f"Imported **{report.name}** ({counts}). Choose it under *Image folder*.", icon=":material/check:")
        if report.skipped:
            with st.expander(f"{len(report.skipped)} file(s) skipped"):
                st.dataframe(pd.DataFrame(report.skipped, columns=["file", "reason"]), hide_index=True)


# ----- model -----------------------------------------------------------------------------


@st.cache_data(show_spinner="Building the model to count its parameters...", max_entries=32)
def summary_of(spec_dict: dict, input_shape: tuple, k: int):
    summary = describe(ModelSpec.from_dict(spec_dict), input_shape, k)
    return dataclasses.asdict(summary)


def choose_model(task: str) -> ModelSpec | None:
    st.subheader("2. Model")
    # The project's fast recipes first: a new user's first click should not be the 130 M model.
    names = sorted((n for n, p in PRESETS.items() if p.task in (task, "any")), key=lambda n: not n.endswith("-fast"))
    preset = st.selectbox("Preset", names, key=f"train_preset_{task}",
                          format_func=lambda n: f"{n}: {PRESETS[n].description.split('. ')[0]}")  # fmt: skip
    spec = get_preset(preset)
    st.caption(spec.description + (f" Source: {spec.source}" if spec.source else ""))
    if any(layer.kind == "Pretrained" for layer in spec.layers):
        return spec
    if st.toggle("Edit the layers", key="train_edit_layers"):
        edited = st.data_editor(
            pd.DataFrame(layers_to_rows(spec.layers)),
            num_rows="dynamic",
            key=f"train_layers_{preset}",
            column_config={
                "kind": st.column_config.SelectboxColumn("layer", options=LAYER_KINDS, required=True),
                "padding": st.column_config.SelectboxColumn(options=["valid", "same"]),
                "activation": st.column_config.SelectboxColumn(
                    options=["relu", "sigmoid", "tanh", "softmax", "gelu", "elu"]
                ),
                "rate": st.column_config.NumberColumn(min_value=0.0, max_value=0.95, step=0.05),
            },
            width="stretch",
        )
        try:
            spec = dataclasses.replace(
                spec,
                name="custom",
                layers=layers_from_rows(pd.DataFrame(edited).to_dict("records")),
                description=f"Edited from {preset}.",
            )
        except (InputError, TypeError, ValueError) as exc:
            st.error(f"The layer table is not valid: {exc}", icon=":material/error:")
            return None
    return spec


def show_model(spec: ModelSpec, input_shape: tuple, k: int, n_train: int) -> bool:
    """Per-layer summary, warnings, diagram and time estimate; False when the spec is invalid."""
    try:
        summary = summary_of(spec.to_dict(), input_shape, k)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return False
    rows = [{"layer": r["name"], "type": r["kind"], "output shape": str(tuple(r["output_shape"])),
             "parameters": r["params"], "multiply-adds": r["macs"]} for r in summary["layers"]]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                                "multiply-adds": st.column_config.NumberColumn(format="localized")})  # fmt: skip
    mb = summary["total_params"] * 4 / 1e6
    st.markdown(
        f"**{summary['total_params']:,} parameters** ({mb:,.1f} MB as float32), "
        f"**{summary['total_macs'] / 1e6:,.1f} M multiply-adds** per image, input {input_shape}."
    )
    for w in summary["warnings"]:
        st.warning(w, icon=":material/warning:")
    diagram = [("Input", "Input", tuple(input_shape), 0)]
    diagram += [
        (
            r["kind"],
            r["kind"].replace("Pooling2D", "Pool").replace("GlobalAverage", "GAP"),
            tuple(r["output_shape"]),
            r["params"],
        )
        for r in summary["layers"]
    ]
    st.plotly_chart(plots.architecture_figure(diagram), config={"displayModeBar": False}, key="arch")
    return True


# ----- settings --------------------------------------------------------------------------


def choose_settings(spec: ModelSpec, task: str) -> tuple[TrainConfig, ModelSpec] | None:
    st.subheader("3. Training")
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 1, 500, spec.epochs, key=f"t_epochs_{spec.name}")
    batch = c2.number_input("Batch size", 1, 4096, spec.batch_size, key=f"t_batch_{spec.name}")
    optimizer = c3.selectbox(
        "Optimizer",
        OPTIMIZERS,
        OPTIMIZERS.index(spec.optimizer) if spec.optimizer in OPTIMIZERS else 0,
        key=f"t_opt_{spec.name}",
    )
    lr = c4.number_input("Learning rate", 1e-6, 1.0, float(spec.learning_rate), format="%.5f", key=f"t_lr_{spec.name}")
    c1, c2, c3, c4 = st.columns(4)
    patience = c1.number_input("Early-stopping patience (epochs)", 1, 100, spec.patience, key=f"t_pat_{spec.name}")
    min_delta = c2.number_input(
        "Min improvement of val loss", 0.0, 1.0, float(spec.min_delta), format="%.4f", key=f"t_md_{spec.name}"
    )
    val = c3.number_input("Validation fraction", 0.05, 0.5, float(spec.validation_fraction), key=f"t_val_{spec.name}")
    seed = c4.number_input("Seed", 0, 2**31 - 1, 42, key="t_seed")
    image_size, color_mode = spec.image_size, spec.color_mode
    augment = dict(spec.augment)
    if task == "images":
        c1, c2, _, _ = st.columns(4)
        image_size = c1.select_slider(
            "Image size", [32, 48, 64, 96, 128, 160, 192, 224, 256], spec.image_size, key=f"t_size_{spec.name}"
        )
        color_mode = c2.segmented_control(
            "Colour", ["grayscale", "rgb"], default=spec.color_mode, key=f"t_color_{spec.name}", required=True
        )
        st.markdown("**Augmentation** (random changes that keep the label; only on training images)")
        cols = st.columns(len(AUGMENTS))
        augment = {}
        for col, (opt, (label, default)) in zip(cols, AUGMENTS.items()):
            if col.checkbox(label, value=opt in spec.augment, key=f"t_aug_{opt}_{spec.name}"):
                augment[opt] = spec.augment.get(opt, default)
        if "flip" in augment:
            st.caption("Horizontal flip keeps frontal/lateral labels, but not for digits or text.")
    max_seconds = st.number_input("Time budget in seconds (0 = none)", 0, 24 * 3600, 0, key="t_budget")
    spec = dataclasses.replace(spec, augment=augment)
    cfg = TrainConfig(task=task, data=None, preset=spec.name, epochs=int(epochs), batch_size=int(batch),
                      learning_rate=float(lr), optimizer=optimizer, patience=int(patience), min_delta=float(min_delta),
                      validation_fraction=float(val), image_size=int(image_size) if task == "images" else None,
                      color_mode=color_mode if task == "images" else None, seed=int(seed),
                      max_seconds=float(max_seconds) or None, spec=spec.to_dict())  # fmt: skip
    try:
        checked = cfg.resolve_spec()
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    return cfg, checked


def argv_for(cfg: TrainConfig, data: str | None) -> list[str]:
    argv = ["--task", cfg.task, "--name", cfg.preset, "--epochs", str(cfg.epochs), "--batch-size", str(cfg.batch_size),
            "--learning-rate", repr(cfg.learning_rate), "--optimizer", cfg.optimizer, "--patience", str(cfg.patience),
            "--min-delta", repr(cfg.min_delta), "--validation-fraction", repr(cfg.validation_fraction), "--seed", str(cfg.seed)]  # fmt: skip
    if data:
        argv += ["--data", data]
    if cfg.task == "images":
        argv += ["--image-size", str(cfg.image_size), "--color-mode", cfg.color_mode]
    if cfg.max_seconds:
        argv += ["--max-seconds", repr(cfg.max_seconds)]
    return argv


# ----- page --------------------------------------------------------------------------------

st.title("Train a model")
manager = JobManager()
manager.pump()

data = choose_data()
ready = False
if data is not None:
    spec = choose_model(data["task"])
    if spec is not None:
        picked = choose_settings(spec, data["task"])
        if picked is not None:
            cfg, checked = picked
            channels = 1 if checked.color_mode == "grayscale" else 3
            input_shape = (28, 28, 1) if data["task"] == "mnist" else (checked.image_size, checked.image_size, channels)
            with st.expander("Model summary, diagram and time estimate", expanded=True):
                ready = show_model(checked, input_shape, len(data["classes"]), data["n"])
                if ready:
                    macs = summary_of(checked.to_dict(), input_shape, len(data["classes"]))["total_macs"]
                    est = estimate_epoch_seconds(macs, data["n"], checked.batch_size)
                    st.caption(
                        f"Estimated **{est:,.0f} s per epoch** on {data['n']:,} training images "
                        f"(~{est * checked.epochs / 60:,.1f} min for {checked.epochs} epochs, less if early stopping fires). "
                        "An estimate from multiply-adds, calibrated on a 2-core CPU; not a timing."
                    )
            active = manager.active()
            label = "Train" if not active else f"Add to the queue ({len(active)} job(s) ahead)"
            if st.button(label, type="primary", disabled=not ready, icon=":material/play_arrow:"):
                try:
                    run = manager.submit(
                        argv_for(cfg, data["data"]),
                        name=cfg.preset,
                        summary={"task": cfg.task, "preset": cfg.preset, "data": data["data"]},
                        spec=dataclasses.replace(checked, name=cfg.preset).to_dict(),
                    )
                    S.train_run_id = run.id
                except InputError as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    st.rerun()  # show the new job (and the queue button) at once

st.subheader("4. Progress")
runs = RunStore().list()
if not runs:
    st.caption("No runs yet.")
else:
    ids = [r.id for r in runs]
    if S.train_run_id not in ids:
        S.train_run_id = next((r.id for r in runs if r.status().get("status") in ACTIVE_STATES), ids[0])
    st.selectbox("Run", ids, key="train_run_id")
    run_id = S.train_run_id
    live = RunStore().get(run_id).status().get("status") in ACTIVE_STATES

    @st.fragment(run_every=1.0 if live else None)
    def progress_view() -> None:
        JobManager().pump()
        try:
            run = RunStore().get(run_id)
        except InputError:  # deleted meanwhile (from Learning curves, maybe by someone else)
            st.warning(f"Run {run_id} was deleted.")
            return
        pos = queue_position(manager, run_id)
        render_run_progress(run, pos)
        if run.status().get("status") in ACTIVE_STATES:
            c1, c2 = st.columns([1, 4])
            if c1.button("Stop", icon=":material/stop:", key="stop"):
                st.info(JobManager().stop(run_id))
            if run.stop_requested() and c2.button("Force stop (kill now)", key="force"):
                st.warning(JobManager().stop(run_id, force=True))
        elif live:
            st.rerun()  # it just ended: rerun the page once to stop the timer

    progress_view()
