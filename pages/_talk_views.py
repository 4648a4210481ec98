"""A step's live view, two ways: the presenter's page set to the step's state, and the audience's phone view.

:func:`open_view` sets the session keys of the page a view names (as a person would have set its
widgets) and returns that page, so the presenter's live view is the page itself, interactive as
usual. :func:`show_view` draws the same step read-only and narrow for a phone; what it computes is
cached for the whole server, so a room of phones moving to a step computes it once.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from core.base.errors import InputError
from core.base.i18n import _, language, number, percent
from core.models import get_preset, summarize_spec
from core.plots.curves import Curve, curves_figure
from core.plots.pictures import diverging_rgb, enlarge, gray_rgb, heat_overlay, symmetric_limit
from core.plots.style import CHART_CONFIG
from core.runs.store import Run
from core.serving import explain
from core.serving.inference import Probe
from core.talk.needs import Found, find_curves, find_image, find_model, missing
from core.talk.views import ImageRef, View
from core.teaching import filters
from core.teaching.learn import LayerSettings, run_pipeline
from pages._data import data_status
from pages._runs import STATUS_ICONS, load_served
from pages._talk_bar import TALK_PAGE

PAGES = {"slide": TALK_PAGE, "learn": "pages/learn.py", "layers": "pages/train.py", "train": "pages/train.py",
         "curves": "pages/curves.py", "predict": "pages/predict.py", "hood": "pages/hood.py",
         "wall": "pages/wall.py", "challenge": "pages/wall.py"}  # fmt: skip
JOIN_PAGE = "pages/join.py"
PICTURE = 165  # px: two pictures side by side on a 390-px phone, four on a laptop


# ----- the presenter: the page itself, set to the step -------------------------------------------


def _folder_key(name: str) -> str | None:
    """The data folder's entry for a dataset name, as the pages' dataset selectors list it."""
    return next((f for f in data_status()["folders"] if Path(f).name == name), None)


def _image_keys(ref: ImageRef, prefix: str) -> dict:
    if ref.kind == "folder":
        return {f"{prefix}_folder": _folder_key(ref.folder), f"{prefix}_class": ref.cls, f"{prefix}_sample": ref.index}
    return {}


def open_view(view: View, state) -> str:
    """Sets ``state`` (the session) as the view's page would be set by hand; returns the page to show.

    A view this machine cannot show (:func:`core.talk.needs.missing`) stays on the Talk page, which says why.
    """
    if view.kind == "slide" or missing(view) is not None:
        return TALK_PAGE
    p, keys = view.params, {}
    if view.kind == "learn":
        ref = p["image"]
        source = {"card": "Test card", "mnist": "MNIST digit", "folder": "Dataset sample"}[ref.kind]
        keys = {"learn_source": source, "learn_kernel": p["kernel"], "learn_stride": p["stride"],
                "learn_padding": p["padding"], "learn_bias": float(p["bias"]), "learn_relu": p["relu"],
                "learn_pool_on": p["pool"] != "off", "learn_pool_size": p["pool_size"],
                "learn_pool_stride": p["pool_stride"], **_image_keys(ref, "learn")}  # fmt: skip
        if p["pool"] != "off":
            keys["learn_pool_mode"] = p["pool"]
        if ref.kind == "card":
            keys["learn_card_size"] = ref.index
        elif ref.kind == "mnist":
            keys["learn_mnist_index"] = ref.index
    elif view.kind in ("layers", "train"):
        task = get_preset(p["preset"]).task
        keys = {"train_data_kind": "MNIST digits" if task == "mnist" else "Image folder",
                f"train_preset_{task}": p["preset"], "train_edit_layers": view.kind == "layers"}  # fmt: skip
        if p.get("data") and task == "images":
            keys["train_folder"] = _folder_key(p["data"])
        if view.kind == "train" and p.get("epochs"):
            keys[f"t_epochs_{p['preset']}"] = p["epochs"]
    elif view.kind == "curves":
        runs = find_curves(view)
        if not isinstance(runs, str):
            keys = {"curves_selected": [r.id for r in runs]}
    elif view.kind == "predict":
        run = find_model(p["model"])
        task = run.config().get("task", "mnist")
        ref = p["image"]
        keys = {"predict_model": "__default__" if p["model"] == "shipped" else run.id, "p_rotate": p["rotate"],
                "p_flip_h": p["flip"] == "horizontal", "p_flip_v": p["flip"] == "vertical",
                **_image_keys(ref, "predict")}  # fmt: skip
        if ref.kind in ("mnist", "folder"):
            keys[f"predict_source_{task}"] = "Sample"
        if ref.kind == "mnist":
            keys["predict_digit"] = ref.index
    elif view.kind == "hood":
        keys = {"hood_layout": "Side by side" if p["layout"] == "side" else "One at a time"}
    elif view.kind in ("wall", "challenge"):
        keys = {"wall_view": "Challenge" if view.kind == "challenge" else "Digits"}
    for key, value in keys.items():
        if value is not None:
            state[key] = value
    return PAGES[view.kind]


def scroll_target(view: View) -> str | None:
    """The key of what the step is about on its page, when it is not at the top (the browser scrolls to it)."""
    if view.kind == "train":
        return f"train_preset_{get_preset(view.get('preset')).task}"
    return {"layers": "train_edit_layers", "predict": "predict_answer", "curves": "epoch_loss"}.get(view.kind)


# ----- the audience: the step read-only, for a phone ---------------------------------------------


def _png(rgb: np.ndarray) -> bytes:
    """A picture encoded once, :data:`PICTURE` px wide (nearest: a map's cells stay square).

    ``st.image`` encodes an array again for every phone, and resizes bytes wider than its ``width``
    for every phone too (a third of the server's time on a Learn step for 100 phones); bytes of the
    width shown are only checked and hashed.
    """
    img = Image.fromarray(rgb)
    img = img.resize((PICTURE, max(1, round(img.height * PICTURE / img.width))), Image.NEAREST)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@st.cache_data(max_entries=32, show_spinner=False)
def _image(ref: ImageRef, path: str) -> np.ndarray:
    """A ``(H, W)`` grayscale image in [0, 1] (MNIST digits at 28x28; others at most 256 px)."""
    if ref.kind == "card":
        return filters.synthetic_image(ref.index)
    if ref.kind == "mnist":
        from pages._data import mnist_test_digits

        x, _y = mnist_test_digits(path)
        return x[ref.index].astype(np.float32) / 255.0
    with Image.open(path) as img:
        img = img.convert("L")
        img.thumbnail((256, 256))
        return np.asarray(img, np.float32) / 255.0


@st.cache_data(max_entries=32, show_spinner=False)
def _learn_panels(ref: ImageRef, path: str, params: tuple, lang: str) -> tuple[list[tuple[bytes, str]], str | None]:
    p = dict(params)
    image = _image(ref, path)
    settings = LayerSettings(stride=p["stride"], padding=p["padding"], bias=p["bias"], relu=p["relu"],
                             pool=p["pool"] != "off", pool_mode=p["pool"] if p["pool"] != "off" else "max",
                             pool_size=p["pool_size"], pool_stride=p["pool_stride"])  # fmt: skip
    kernel = filters.KERNEL_PRESETS[p["kernel"]][0]
    result = run_pipeline(image, kernel, settings)
    panels = [(_png(gray_rgb(image, 0.0, 1.0)), _("Input {h}x{w}").format(h=image.shape[0], w=image.shape[1]))]
    if result.conv is not None:
        limit = symmetric_limit(result.conv, 99.5) or 1.0
        for name, x in ((_("Feature map"), result.conv), (_("After ReLU"), result.act if p["relu"] else None),
                        (_("After pooling"), result.pooled)):  # fmt: skip
            if x is not None:
                panels.append((_png(enlarge(diverging_rgb(x, limit), 160)[0]), f"{name} {x.shape[0]}x{x.shape[1]}"))
    return panels, result.conv_error or result.pool_error


def _show_learn(view: View, found: Found) -> None:
    p = view.params
    settings = tuple(sorted((k, v) for k, v in p.items() if k != "image"))
    panels, problem = _learn_panels(found.ref, found.path, settings, language())
    st.caption(_("Kernel {kernel}, stride {stride}, padding {padding}, pooling {pool}").format(
        kernel=_(p["kernel"]), stride=p["stride"], padding=p["padding"],
        pool=_("off") if p["pool"] == "off" else f"{p['pool']} {p['pool_size']}x{p['pool_size']}"))  # fmt: skip
    # One list of pictures: they flow two to a row on a phone (columns would stack them one a screen).
    st.image(
        [rgb for rgb, _caption in panels],
        caption=[caption for _rgb, caption in panels],
        width=PICTURE,
        output_format="PNG",
    )
    if problem:
        st.error(problem, icon=":material/error:")


@st.cache_data(max_entries=16, show_spinner=False)
def _layer_rows(preset: str) -> tuple[list[dict], int, int]:
    spec = get_preset(preset)
    summary = summarize_spec(spec, (spec.image_size, spec.image_size, 1 if spec.color_mode == "grayscale" else 3),
                             10 if spec.task == "mnist" else 2)  # fmt: skip
    rows = [{"layer": r.label, "shape": str(tuple(r.output_shape)), "params": r.params} for r in summary.layers]
    return rows, summary.total_params, summary.total_macs


@st.cache_resource(max_entries=16, show_spinner=False)
def _curves(run_path: str, stamp: tuple, metric: str, lang: str) -> go.Figure | None:
    """A run's curves, built once per change of its history (``stamp``) for every phone."""
    run = Run(run_path)
    rows = run.history()
    if not rows:
        return None
    curve = Curve(run.id, rows, best_epoch=run.status().get("best_epoch"))
    return curves_figure([curve], metric, height=300)


@st.cache_resource(max_entries=32, show_spinner=False)
def _layer_table(preset: str, lang: str) -> pd.DataFrame:
    """The table built once per preset and language, for every phone (``st.table`` does not change it)."""
    rows, _params, _macs = _layer_rows(preset)
    return pd.DataFrame([{_("layer"): r["layer"], _("output shape"): r["shape"], _("parameters"): number(r["params"])}
                         for r in rows])  # fmt: skip


def _show_layers(view: View) -> None:
    _rows, params, macs = _layer_rows(view.get("preset"))
    st.markdown(_("**{preset}**: {params} parameters, {macs} M multiply-adds per image").format(
        preset=view.get("preset"), params=number(params), macs=number(macs / 1e6, 1)))  # fmt: skip
    st.table(_layer_table(view.get("preset"), language()), hide_index=True)  # text that wraps: a phone sees it all


def _show_runs(view: View, runs: list[str] | str) -> None:
    if isinstance(runs, str):
        st.info(runs, icon=":material/hourglass_empty:")
        return
    run = Run(runs[0])
    status = run.status()
    state = status.get("status", "unknown")
    words = [f"{STATUS_ICONS.get(state, '')} **{run.config().get('preset', run.id)}** · {_(state)}"]
    if status.get("epochs"):
        words.append(_("epoch {n} of {total}").format(n=status.get("epochs_done", 0), total=status["epochs"]))
    if status.get("best_val_accuracy") is not None:
        words.append(_("best validation accuracy {acc}").format(acc=percent(status["best_val_accuracy"], 2)))
    if status.get("test_accuracy") is not None:
        words.append(_("test accuracy {acc}").format(acc=percent(status["test_accuracy"], 2)))
    st.markdown(" · ".join(words))
    try:
        seen = run.history_path.stat()
        stamp = (seen.st_mtime_ns, seen.st_size, status.get("best_epoch"))
    except OSError:
        return
    figure = _curves(str(run.path), stamp, view.get("metric") or "accuracy", language())
    if figure is not None:
        st.plotly_chart(figure, config=CHART_CONFIG, key="talk_curves")


@st.cache_data(max_entries=16, show_spinner=False)
def _prediction(run_path: str, mtime: float, ref: ImageRef, path: str, rotate: int, flip: str, gradcam: bool):
    served = load_served(run_path)
    image = _image(ref, path) if ref.kind != "folder" else None
    img = Image.open(path).copy() if image is None else Image.fromarray((image * 255).astype(np.uint8))
    probe = Probe(rotate=rotate, flip_horizontal=flip == "horizontal", flip_vertical=flip == "vertical")
    x, probs, verdicts = served.examine_images([img], probe)
    names = list(served.spec.class_names)
    top = int(np.argmax(probs[0]))
    seen = x[0][:, :, 0] if x.shape[3] == 1 else x[0]
    picture = _png(enlarge(gray_rgb(seen, 0, 1) if seen.ndim == 2 else (seen * 255).astype(np.uint8), 224)[0])
    cam = None
    convs = explain.conv_layers(served.model)
    if gradcam and convs:
        with served.lock:
            heat, _index = explain.gradcam(served.model, x[0], convs[-1], top)
        cam = _png(enlarge(heat_overlay(x[0], explain.upsample(heat, x.shape[1:3])), 224)[0])
    return picture, dict(zip(names, map(float, probs[0]))), names[top], verdicts[0].unfamiliar, cam


def _show_predict(view: View, found: Found, run: Run) -> None:
    ckpt = run.checkpoint()
    if ckpt is None:
        st.info(_("This step uses the run {run}, which is not on this machine.").format(run=run.id))
        return
    try:
        picture, probs, label, unfamiliar, cam = _prediction(
            str(run.path), ckpt.stat().st_mtime, found.ref, found.path, view.get("rotate"), view.get("flip"),
            view.get("gradcam"))  # fmt: skip
    except (InputError, OSError, ValueError) as exc:
        st.error(_("This model cannot be used: {problem}").format(problem=exc), icon=":material/error:")
        return
    if unfamiliar:
        st.markdown(_("### I don't know"))
        st.caption(_("It would have guessed {label} ({confidence}).").format(label=label,
                                                                           confidence=percent(probs[label])))  # fmt: skip
    else:
        st.markdown(
            _("### {label}  \nconfidence **{confidence}**").format(label=label, confidence=percent(probs[label]))
        )
    pictures = [(picture, _("What the model sees"))]
    if cam is not None:
        pictures.append((cam, _("Grad-CAM: where the evidence is")))
    st.image([p for p, _c in pictures], caption=[c for _p, c in pictures], width=PICTURE, output_format="PNG")
    # Bars as progress elements: a chart serialised for each of 100 phones cost more than the step's pictures.
    for name, p in sorted(probs.items(), key=lambda kv: -kv[1])[:5]:
        st.progress(min(1.0, max(0.0, p)), text=f"{name} · {percent(p)}")


def _show_hood() -> None:
    from core.teaching.api_compare import WAYS, source, way_lines

    for tab, (way, info) in zip(st.tabs([_(w.label) for w in WAYS.values()]), WAYS.items()):
        with tab:
            st.caption(_("{n} lines of code").format(n=way_lines(way)))
            st.code(source(info.files[-1]), language="python", height=420, wrap_lines=True)


def _show_board() -> None:
    from core.challenge.contest import Challenge
    from core.room.active import active_room

    room = active_room()
    ch = Challenge(room) if room is not None else None
    settings = ch.settings() if ch is not None else None
    if settings is None:
        st.info(_("The challenge opens on the Wall; design your network on Join."), icon=":material/trophy:")
        return
    rows = [r for r in ch.rows() if r.rank is not None][:10]
    if rows:
        st.dataframe(pd.DataFrame([{"#": r.rank, _("network"): r.name, _("accuracy"): percent(r.score(settings.metric)
                     or 0.0, 2), _("parameters"): number(r.params)} for r in rows]), hide_index=True, width="stretch")  # fmt: skip


@st.cache_data(ttl=2.0, max_entries=32, show_spinner=False)
def _found(view: View, lang: str) -> tuple[str | None, Found | None, str | None, list[str] | str | None]:
    """What the view needs, looked up once every 2 s for every phone (folders and runs listed once, not 100
    times): why it cannot show (or None), its image, its model's run folder, its runs' folders (or why none)."""
    problem = missing(view)
    if problem is not None:
        return problem, None, None, None
    image = view.get("image")
    found = find_image(image) if isinstance(image, ImageRef) else None
    model = find_model(view.get("model")) if view.kind == "predict" else None
    runs = find_curves(view) if view.kind in ("train", "curves") else None
    return None, found, str(model.path) if model else None, runs if isinstance(runs, str) or runs is None else [
        str(r.path) for r in runs]  # fmt: skip


def show_view(view: View) -> None:
    """The step's view on a phone: read-only, one column; what is missing on this machine said in words."""
    problem, found, model, runs = _found(view, language())
    if problem is not None:
        st.info(problem, icon=":material/info:")
        return
    if view.kind == "learn":
        _show_learn(view, found)
    elif view.kind == "layers":
        _show_layers(view)
    elif view.kind in ("train", "curves"):
        _show_runs(view, runs)
    elif view.kind == "predict":
        _show_predict(view, found, Run(model))
    elif view.kind == "hood":
        _show_hood()
    elif view.kind == "challenge":
        _show_board()
    if view.kind in ("wall", "challenge"):
        st.page_link(JOIN_PAGE, label=_("Take part on Join"), icon=":material/smartphone:")
