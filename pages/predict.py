"""Predict: draw or upload, see what the model sees, how sure it is, and why."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from core import tasks
from core.access.limits import take
from core.base.errors import InputError
from core.base.i18n import N_, _, number, percent
from core.data.images import MAX_PIXELS, REQUEST_PIXELS, PixelBudget, open_image
from core.plots.pictures import enlarge, gray_rgb, heat_overlay, montage
from core.plots.results import probability_bars
from core.plots.style import CHART_CONFIG
from core.serving import explain, ood
from core.serving.default_model import default_run
from core.serving.inference import Probe, apply_probe, prediction_record, predictions_csv
from core.tasks import proposed_run
from core.tasks.base import Task
from pages._data import data_status, folder_samples, mnist_test_digits
from pages._drawpad import draw_pad
from pages._router import ensure_router
from pages._runs import model_labels, predicts_rows, served_model, usable_runs
from pages._session import actor, init_state
from pages._table_results import table_prediction
from pages._widgets import file_upload

ensure_router()

UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
MAX_IMAGES = 200
S = st.session_state
init_state({"p_rotate": 0, "p_flip_h": False, "p_flip_v": False, "p_bright": 0.0, "p_contrast": 1.0, "p_noise": 0.0,
            "p_occlude": False, "p_occ_row": 0.5, "p_occ_col": 0.5, "p_occ_size": 0.3})  # fmt: skip


def pick_model():
    """Returns the chosen run: a table run as it is, another as its served model; None (with a message) if unusable."""
    runs = usable_runs()
    shipped = default_run()
    options = [r.id for r in runs] + (["__default__"] if shipped else [])
    if not options:
        st.error(_("No trained model yet, and the shipped MNIST model is missing. Train one on the Train page."))
        return None
    labels = model_labels(runs, shipped)
    proposed = proposed_run(runs, shipped)
    first = "__default__" if proposed is shipped else proposed.id
    choice = st.selectbox(_("Model"), options, index=options.index(first), format_func=labels.get, key="predict_model",
                          help=_("Proposed first: the best tested model on the data of the newest run."))  # fmt: skip
    run = shipped if choice == "__default__" else next(r for r in runs if r.id == choice)
    if predicts_rows(run):  # predicted by core.tasks.table.predict from rows, not served as an image model
        return run
    try:
        return served_model(str(run.path))
    except InputError as exc:
        st.error(_("This model cannot be used: {problem}").format(problem=exc), icon=":material/error:")
        return None


Loader = Callable[[PixelBudget], Image.Image]  # decodes one input, charged to a budget (InputError when it cannot)


def _upload_loader(data: bytes, name: str) -> Loader:
    def load(budget: PixelBudget) -> Image.Image:
        source = io.BytesIO(data)
        source.name = name  # the core's messages then name the file ("a.png is not an image...")
        return open_image(source, budget=budget)[0]

    return load


def pick_images(task: Task, budget: PixelBudget) -> list[tuple[str, Loader]]:
    """Renders the input widgets; returns (name, loader) pairs.

    Nothing is decoded here: the page decodes each input once to predict it, keeps only what
    the model saw, and decodes again only the one shown in detail. The drawing pad's data is
    decoded here, charged to ``budget`` (this run's and this session's pixel allowance).
    """
    status = data_status()
    sources = ([N_("Draw")] if task.digits else []) + [N_("Upload"), N_("Camera")]
    if status.get(task.sample_data):
        sources.append(N_("Sample"))
    first = "Sample" if not task.digits and "Sample" in sources else sources[0]
    source = st.pills(_("Input"), sources, default=first, key=f"predict_source_{task.name}", required=True,
                      format_func=_)  # fmt: skip
    out: list[tuple[str, Loader]] = []
    if source == "Draw":
        st.caption(_("Draw one digit, large, in the middle."))
        try:
            img = draw_pad("predict_pad", budget)
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
            img = None
        if img is not None:
            out.append((_("drawing"), lambda _budget: img))
    elif source == "Upload":
        files = file_upload(_("Images"), type=UPLOAD_TYPES, accept_multiple_files=True, key="predict_upload")
        out += [(f.name, _upload_loader(f.getvalue(), f.name)) for f in (files or [])[:MAX_IMAGES]]
        if files and len(files) > MAX_IMAGES:
            st.warning(_("Only the first {n} images are used.").format(n=MAX_IMAGES))
    elif source == "Camera":
        photo = st.camera_input(_("Take a picture"), key="predict_camera")
        if photo is not None:
            out.append((_("camera"), _upload_loader(photo.getvalue(), _("camera"))))
    elif task.sample_data == "mnist":
        x, y = mnist_test_digits(status["mnist"][0])
        i = st.number_input(_("MNIST test digit #"), 0, len(x) - 1, 0, key="predict_digit")
        out.append((_("test digit #{i} (a {digit})").format(i=i, digit=y[i]), lambda _budget: Image.fromarray(x[i])))
    else:
        folder = st.selectbox(
            _("Dataset"), status["folders"], key="predict_folder", format_func=lambda p: p.rsplit("/", 1)[-1]
        )
        samples = folder_samples(folder)
        cls = st.selectbox(_("Class"), list(samples), key="predict_class")
        j = st.slider(_("Sample"), 0, len(samples[cls]) - 1, 0, key="predict_sample")
        path = samples[cls][j]
        out.append((f"{cls}/{path.rsplit('/', 1)[-1]}", lambda b: open_image(path, budget=b)[0]))
    return out


def pick_probe() -> Probe:
    with st.expander(_("Robustness probes: change the image and watch the probabilities"), icon=":material/tune:"):
        c1, c2, c3 = st.columns(3)
        c1.slider(_("Rotate (degrees)"), -180, 180, step=5, key="p_rotate")
        c1.checkbox(_("Flip left-right"), key="p_flip_h")
        c1.checkbox(_("Flip upside down"), key="p_flip_v")
        c2.slider(_("Brightness"), -0.5, 0.5, step=0.05, key="p_bright")
        c2.slider(_("Contrast"), 0.0, 2.0, step=0.1, key="p_contrast")
        c2.slider(_("Noise"), 0.0, 0.5, step=0.02, key="p_noise")
        c3.checkbox(_("Occlude a patch"), key="p_occlude")
        if S.p_occlude:
            c3.slider(_("Patch row"), 0.0, 1.0, step=0.05, key="p_occ_row")
            c3.slider(_("Patch column"), 0.0, 1.0, step=0.05, key="p_occ_col")
            c3.slider(_("Patch size"), 0.05, 0.8, step=0.05, key="p_occ_size")
    occlude = (S.p_occ_row, S.p_occ_col, S.p_occ_size) if S.p_occlude else None
    return Probe(S.p_rotate, S.p_flip_h, S.p_flip_v, S.p_bright, S.p_contrast, S.p_noise, occlude)


def follow(key: str, default: str, options: list[str], context: object) -> None:
    """Makes a widget's value follow ``default`` (the prediction) unless the person chose another.

    The value is reset to the default when the person has not changed it since it was last set
    automatically, when it is no longer an option, or when ``context`` changed (another model for
    the layer; another input for the class). Call before the widget with this key.
    """
    auto, ctx = S.get(f"{key}__auto"), S.get(f"{key}__ctx")
    if S.get(key) not in options or S.get(key) == auto or ctx != context:
        S[key] = default
    S[f"{key}__auto"], S[f"{key}__ctx"] = default, context


def show_answer(label: str, confidence: float, verdict: ood.Verdict, calibration: ood.Calibration | None) -> None:
    """The answer, or an honest "I don't know" with the guess downgraded; then the score and its threshold."""
    if verdict.unfamiliar:
        st.markdown(_("### I don't know"))
        st.warning(
            _("This input is unlike the images the model was trained on. It would have guessed **{label}** "
              "({confidence}), but that guess should not be trusted.").format(label=label, confidence=percent(confidence)),
            icon=":material/help:",
        )  # fmt: skip
    else:
        st.markdown(_("### {label}  \nconfidence **{confidence}**").format(label=label, confidence=percent(confidence)))
    if verdict.unfamiliar is None:
        st.caption(_('No "I don\'t know" check for this model: {reason}.').format(reason=verdict.reason))
        return
    side = _("above: I don't know") if verdict.unfamiliar else _("at or below: familiar")
    st.caption(
        _("Unfamiliarity score **{score}**, threshold **{threshold}** ({side}). The threshold lets {rate} of the "
          "validation images through as familiar.").format(
            score=number(verdict.score, 2), threshold=number(verdict.threshold, 2), side=side,
            rate=percent(calibration.familiar_rate if calibration else ood.FAMILIAR_RATE, 0),
        )
    )  # fmt: skip
    with st.expander(_("What does this score mean?"), icon=":material/info:"):
        if verdict.method in ood.SCORE_WORDS:
            st.markdown(_(ood.SCORE_WORDS[verdict.method]))
        if calibration is not None:
            st.markdown(
                _("The threshold was set on {n} validation images the model did not train on, so that "
                  "{familiar} of them count as familiar: about {alarm} of ordinary inputs are wrongly called "
                  "unfamiliar. A confident answer is not a familiar input: a model can be 99% sure about "
                  "a photo of a cat.").format(n=number(calibration.n_validation), familiar=percent(calibration.familiar_rate, 0),
                                               alarm=percent(calibration.false_alarm_rate, 1))
            )  # fmt: skip


def explain_one(served, name: str, x: np.ndarray, probs: np.ndarray, verdict: ood.Verdict, original: Image.Image,
                probe: Probe) -> None:  # fmt: skip
    names = list(served.spec.class_names)
    top = int(np.argmax(probs))
    # The answer first: on a phone the columns below stack, and it would be out of sight.
    with st.container(key="predict_answer"):  # a talk's predict step scrolls here (pages/_talk_views.py)
        show_answer(names[top], float(probs[top]), verdict, served.calibration)
    c1, c2, c3 = st.columns([1, 1, 2])
    with c1:
        shown = apply_probe(original, probe) if not probe.is_identity() else original
        st.image(shown, caption=_("{name} (probed)").format(name=name) if not probe.is_identity() else name,
                 width="stretch")  # fmt: skip
    with c2:
        seen = x[:, :, 0] if x.shape[2] == 1 else x
        st.image(enlarge(gray_rgb(seen, 0, 1) if seen.ndim == 2 else (seen * 255).astype(np.uint8), 224)[0],
                 caption=_("What the model sees: {shape}").format(shape="x".join(map(str, x.shape))),
                 width="stretch")  # fmt: skip
    with c3:
        st.plotly_chart(probability_bars(dict(zip(names, probs))), config=CHART_CONFIG, key="bars")

    tab_cam, tab_maps = st.tabs([_("Grad-CAM: where the evidence is"), _("Feature maps")])
    layers = explain.spatial_layers(served.model)
    with tab_cam:
        if not layers:
            st.info(_("This model has no convolutional layers (an MLP): there is no feature map to explain."))
        else:
            a, b = st.columns(2)
            follow("cam_layer", explain.conv_layers(served.model)[-1], layers, served.run_id)
            layer = a.selectbox(_("Layer"), layers, key="cam_layer", help=_("The last conv layer is the usual choice."))
            follow("cam_class", names[top], names, (served.run_id, hashlib.sha1(x.tobytes()).hexdigest()))
            cls = b.selectbox(
                _("Explain class"), names, key="cam_class", help=_("The predicted class, unless you pick another.")
            )
            try:
                heat, _index = explanation("gradcam", served, x, layer, names.index(cls))
            except (InputError, ValueError, RuntimeError) as exc:  # an explanation must never break the page
                st.error(str(exc))
            else:
                up = explain.upsample(heat, x.shape[:2])
                over = heat_overlay(x, up)
                st.image(
                    enlarge(over, 320)[0],
                    caption=_("Grad-CAM for '{cls}' at {layer} ({rows}x{cols}), red = strongest evidence").format(
                        cls=cls, layer=layer, rows=heat.shape[0], cols=heat.shape[1]
                    ),
                    width=360,
                )
    with tab_maps:
        convs = explain.conv_layers(served.model)
        if not convs:
            st.info(_("No convolutional layers in this model."))
        else:
            layer = st.selectbox(_("Layer"), convs, key="maps_layer")
            try:
                fmap = explanation("maps", served, x, layer)
            except (InputError, ValueError, RuntimeError) as exc:
                st.error(_("Cannot show the feature maps of {layer}: {problem}").format(layer=layer, problem=exc))
            else:
                st.image(enlarge(montage(fmap), 480)[0], width="stretch",
                         caption=_("{layer}: {n} feature maps of {rows}x{cols} (first 64; each scaled on its own, white = "
                                   "strong)").format(layer=layer, n=fmap.shape[2], rows=fmap.shape[0],
                                                     cols=fmap.shape[1]))  # fmt: skip


def explanation(kind: str, served, x: np.ndarray, layer: str, class_index: int | None = None):
    """Grad-CAM (``kind`` "gradcam") or one layer's feature maps of ``x``, computed once per image,
    layer and class: a rerun (a slider, another tab) shows them again without the model's lock
    that Join waits on, and is not charged to the visitor's "heavy" allowance (core.access.limits)."""
    return _explanation(kind, served.run_id, hashlib.sha1(x.tobytes()).hexdigest(), layer, class_index,
                        served, x, actor())  # fmt: skip


@st.cache_data(max_entries=64, show_spinner=False)
def _explanation(kind: str, run_id: str, digest: str, layer: str, class_index: int | None, _served, _x, _actor):
    with _served.lock:
        if kind == "gradcam":
            return explain.gradcam(_served.model, _x, layer, class_index, actor=_actor)
        return explain.feature_maps(_served.model, _x, [layer], actor=_actor)[layer]


st.title(_("Predict"))
served = pick_model()
if served is None:
    st.stop()
if predicts_rows(served):  # rows in, predictions out: no drawing, camera, Grad-CAM or "I don't know"
    table_prediction(served)
    st.stop()
task = tasks.get(served.task)
me = actor()
budget = PixelBudget(REQUEST_PIXELS, N_("one page update"), me.session, me.address)
images = pick_images(task, budget)
probe = pick_probe()
if not images:
    st.info(
        _("Give the model an image: draw a digit, upload one or more, use the camera, or pick a sample.")
        if task.digits
        else _("Give the model an image: upload one or more, use the camera, or pick a sample.")
    )
    st.stop()

results, inputs, probs_all, verdicts = [], [], [], []
for name, load in images:
    try:
        take("predict", me.session, address=me.address)
        x, probs, judged = served.examine_images([load(budget)], probe)
    except InputError as exc:
        problem = str(exc)
        st.error(problem if name in problem else f"{name}: {problem}", icon=":material/error:")
        continue
    inputs.append((name, load, x[0]))  # keep what the model saw, not the decoded original
    probs_all.append(probs[0])
    verdicts.append(judged[0])
    results.append(prediction_record(name, probs[0], served.spec.class_names, judged[0]))  # as the CLI writes it

if not results:
    st.stop()
if len(results) > 1:
    table = pd.DataFrame(results)[["image", "label", "confidence", "unfamiliar", "ood_score"]]
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "image": _("file"),
            "label": _("label"),
            # The bar's number follows the browser's language (Streamlit formats it there).
            "confidence": st.column_config.ProgressColumn(_("confidence"), format="percent", min_value=0, max_value=1),
            "unfamiliar": st.column_config.CheckboxColumn(_("I don't know"), help=_("Unlike the training images")),
            "ood_score": st.column_config.NumberColumn(_("unfamiliarity"), format="%.2f"),
        },
    )
    st.download_button(
        _("Download results (CSV)"),
        predictions_csv(results),  # the columns of python -m core.predict, probabilities included
        "predictions.csv",
        "text/csv",
        icon=":material/download:",
    )
    pick = st.selectbox(_("Look closer at"), range(len(inputs)), format_func=lambda i: inputs[i][0], key="predict_pick")
else:
    pick = 0
name, load, x = inputs[pick]
try:
    original = load(PixelBudget(MAX_PIXELS, N_("the detail view")))  # decoded and counted above already
except InputError as exc:
    st.error(f"{name}: {exc}")
    st.stop()
explain_one(served, name, x, probs_all[pick], verdicts[pick], original, probe)
