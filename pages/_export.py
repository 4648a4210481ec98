"""Take a run home from the pages: its model as .keras, ONNX and TensorFlow Lite, the model as code, the model card.

The same files as ``python -m core.export`` (:mod:`core.export`), made on request: a conversion takes
seconds, and few of the people viewing a model take its files.
"""

from __future__ import annotations

import streamlit as st

from core.base.errors import InputError
from core.base.i18n import _, number, percent
from core.export import export_bytes
from core.export.card import model_card
from core.runs.store import ACTIVE_STATES, Run
from pages._session import actor

MAX_CODE_LINES_SHOWN = 400  # reproduce.py is about 150 to 250 lines


@st.cache_data(show_spinner=False, max_entries=8)
def _converted(run_path: str, mtime: float, fmt: str, _actor) -> tuple[bytes, dict]:
    """ONNX or TFLite bytes and what was checked; ``_actor`` is charged a heavy action only when computed."""
    exported = export_bytes(Run(run_path), fmt, actor=_actor)
    return exported.data, exported.checked


@st.cache_data(show_spinner=False, max_entries=32)
def _script(run_path: str, mtime: float) -> str:
    """reproduce.py (its own cache: many runs on Curves must not push the charged conversions out)."""
    return export_bytes(Run(run_path), "script").data.decode("utf-8")


def _problem(exc: Exception) -> str:
    """A refusal's own words; anything else, named (the page goes on)."""
    return str(exc) if isinstance(exc, InputError) else _("The export failed: {problem}").format(
        problem=f"{type(exc).__name__}: {exc}"[:300])  # fmt: skip


def _on_request(run: Run, fmt: str, label: str, icon: str, working: str, where) -> tuple[bytes, dict] | None:
    """A button that makes the file; once made (this session, this run), its bytes.

    A refusal stays said, and the button comes back: the conversion is not tried (and charged) again
    on every rerun of the page.
    """
    key, said = f"export_{fmt}_for", f"export_{fmt}_refused"
    refused = st.session_state.get(said)
    if refused and refused[0] == run.id:
        where.warning(refused[1], icon=":material/warning:")
    if st.session_state.get(key) != run.id:
        where.button(label, icon=icon, key=f"export_{fmt}_go",
                     on_click=lambda: st.session_state.update({key: run.id, said: None}))  # fmt: skip
        return None
    try:
        with where, st.spinner(working):
            return _converted(str(run.path), run.checkpoint().stat().st_mtime, fmt, actor())
    except Exception as exc:  # a refusal, or a converter's failure: the person's answer, never a crashed page
        st.session_state[key], st.session_state[said] = None, (run.id, _problem(exc))
        st.rerun()


def export_section(run: Run, images: bool = True) -> None:
    """Evaluate's Export: .keras, ONNX (checked), TensorFlow Lite (image models), reproduce.py and the model card."""
    ckpt = run.checkpoint()
    st.subheader(_("Export"))
    c1, c2, c3 = st.columns(3)
    c1.download_button(_("Model (.keras)"), ckpt.read_bytes(), f"{run.id}.keras", icon=":material/download:",
                       key="dl_keras")  # fmt: skip
    onnx = _on_request(run, "onnx", _("Convert to ONNX"), ":material/swap_horiz:",
                       _("Converting to ONNX and checking it against Keras..."), c2)  # fmt: skip
    if onnx is not None:
        data, checked = onnx
        c2.download_button(_("ONNX ({mb} MB)").format(mb=number(len(data) / 1e6, 1)), data, f"{run.id}.onnx",
                           icon=":material/download:", key="dl_onnx")  # fmt: skip
        c2.caption(agreement_words(checked["agreement"]))
    if images:
        tflite = _on_request(run, "tflite", _("Convert to TensorFlow Lite (for phones)"), ":material/smartphone:",
                             _("Converting to TensorFlow Lite..."), c3)  # fmt: skip
        if tflite is not None:
            c3.download_button(_("TensorFlow Lite for phones ({mb} MB)").format(mb=number(len(tflite[0]) / 1e6, 1)),
                               tflite[0], f"{run.id}.tflite", icon=":material/smartphone:", key="dl_tflite")  # fmt: skip
    d1, d2 = st.columns(2)
    try:
        d1.download_button(_("The model as code (reproduce.py)"), _script(str(run.path), ckpt.stat().st_mtime),
                           "reproduce.py",
                           "text/x-python", icon=":material/code:", key="dl_script",
                           help=_("Plain Keras: the data and split, the model one line per layer, compile and fit "
                                  "with this run's settings and seed. python reproduce.py --data PATH"))  # fmt: skip
    except Exception as exc:  # the other downloads stay
        d1.warning(_problem(exc))
    try:  # in the page's language, from the run folder's files (a few milliseconds)
        d2.download_button(_("Model card (MODEL_CARD.md)"), model_card(run), f"{run.id}-MODEL_CARD.md", "text/markdown",
                           icon=":material/description:", key="dl_card",
                           help=_("What the model is, the data and split, the test results per class, the \"I don't "
                                  "know\" calibration, what it must not be used for, the versions."))  # fmt: skip
    except InputError as exc:
        d2.warning(str(exc))


def agreement_words(agreement: dict) -> str:
    """How the ONNX file compared with Keras, in a sentence."""
    if agreement.get("same_top") is None:
        return _("Checked with onnxruntime on the run's {n} test rows: the largest difference from Keras is "
                 "{diff}.").format(n=number(agreement["n"]), diff=f"{agreement['max_diff']:.1e}")  # fmt: skip
    return _("Checked with onnxruntime on the run's {n} test examples: the same answer as Keras for {same}, "
             "probabilities within {diff}.").format(n=number(agreement["n"]), same=percent(agreement["same_top"], 1),
                                                    diff=f"{agreement['max_diff']:.1e}")  # fmt: skip


def code_section(run: Run, status: str) -> None:
    """Show me the code: the run's reproduce.py on the page, with its download (written when asked).

    Args:
        status: the run's status, as its caller read it.
    """
    ckpt = run.checkpoint()
    if ckpt is None or status in ACTIVE_STATES:  # a training run rewrites its best.keras
        return
    if not st.toggle(_("Show the model as code (reproduce.py)"), key=f"code_{run.id}"):
        return
    try:
        text = _script(str(run.path), ckpt.stat().st_mtime)
    except Exception as exc:  # the rest of the page stays
        st.warning(_problem(exc))
        return
    st.caption(_("Plain Keras that rebuilds this run's network and retrains it with its settings and seed: "
                 "python reproduce.py --data PATH [--epochs N]. It prints the parameter count and the test "
                 "accuracy."))  # fmt: skip
    st.download_button(_("Download reproduce.py"), text, "reproduce.py", "text/x-python", icon=":material/download:",
                       key=f"dl_code_{run.id}")  # fmt: skip
    st.code("\n".join(text.splitlines()[:MAX_CODE_LINES_SHOWN]), language="python", line_numbers=True)
