"""Take a run home: its model in other formats and what it is (``python -m core.export``).

``export_run(run, fmt, out)`` writes one file and returns its path and what was checked:

- ``keras``: the checkpoint the run keeps (``best.keras``, else ``final.keras``);
- ``onnx``: ONNX, run with onnxruntime on the run's test data against Keras before it is written
  (:mod:`core.export.onnx`);
- ``tflite``: TensorFlow Lite, for phones;
- ``script``: ``reproduce.py``, the model as plain Keras code that retrains it (:mod:`core.export.script`);
- ``card``: ``MODEL_CARD.md`` (:mod:`core.export.card`).

A file is written whole or not at all (a temp file renamed), and a run that cannot give it is
refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.base.errors import InputError, first_line
from core.base.i18n import _
from core.base.storage import write_bytes_atomic
from core.runs.store import Run

FORMATS = ("onnx", "tflite", "keras", "script", "card")
NAMES = {"keras": "{run}.keras", "onnx": "{run}.onnx", "tflite": "{run}.tflite", "script": "reproduce.py",
         "card": "MODEL_CARD.md"}  # fmt: skip
IN_RUN_FOLDER = ("card",)  # the others go to the run's export/


@dataclass
class Exported:
    """A format's bytes and what was checked of them (ONNX: its agreement with Keras)."""

    data: bytes
    checked: dict = field(default_factory=dict)


def default_path(run: Run, fmt: str) -> Path:
    """Where a format goes without ``--out``: the card in the run folder, the others in its ``export/``."""
    name = NAMES[fmt].format(run=run.id)
    return run.path / name if fmt in IN_RUN_FOLDER else run.path / "export" / name


def checkpoint(run: Run) -> Path:
    """The run's model file (``best.keras``, else ``final.keras``).

    Raises:
        InputError: the run has none yet.
    """
    ckpt = run.checkpoint()
    if ckpt is None:
        raise InputError(_("Run {run} has no checkpoint (best.keras or final.keras): it has no model to export "
                           "yet.").format(run=run.id))  # fmt: skip
    return ckpt


def load_model(run: Run):
    """The run's checkpoint loaded uncompiled.

    Raises:
        InputError: no checkpoint, or one Keras cannot read.
    """
    import keras

    ckpt = checkpoint(run)
    try:
        return keras.models.load_model(ckpt, compile=False)
    except Exception as exc:  # a damaged file
        raise InputError(_("Run {run}'s model cannot be read: {problem}").format(
            run=run.id, problem=first_line(exc, 200))) from None  # fmt: skip


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(_("Expected a format in {choices}. Received: {value}").format(choices=", ".join(FORMATS),
                                                                                        value=fmt))  # fmt: skip


def export_bytes(run: Run, fmt: str, actor=None) -> Exported:
    """The file's contents for ``fmt``.

    Args:
        actor: a web visitor, charged one "heavy" action for a conversion (``core.access.limits``); None: none.

    Raises:
        InputError: an unknown format, a run without a checkpoint or a usable config, a model a format
            cannot hold, a missing package, an ONNX file that disagrees with Keras.
    """
    _check_format(fmt)
    if fmt == "card":
        from core.export.card import model_card

        return Exported(model_card(run).encode("utf-8"))
    if fmt == "onnx":
        from core.export.onnx import check_packages

        check_packages()  # before the model is loaded: the answer comes at once
    if fmt == "keras":
        return Exported(checkpoint(run).read_bytes())
    if fmt == "tflite":
        from core.tasks import of_run

        if of_run(run).inputs != "images":
            raise InputError(_("TensorFlow Lite export is for image models: the converter cannot read a table "
                               "model's inputs (one per column). Take its ONNX or .keras file instead."))  # fmt: skip
    model = load_model(run)
    if fmt == "script":
        from core.export.script import reproduce_script

        return Exported(reproduce_script(run, model).encode("utf-8"))
    if fmt == "onnx":
        from core.export.onnx import checked_onnx

        data, agreement = checked_onnx(run, model, actor)
        return Exported(data, {"agreement": agreement.to_dict()})
    from core.metrics.classes import to_tflite

    try:
        return Exported(to_tflite(model, actor=actor))
    except InputError:
        raise
    except Exception as exc:  # a converter's refusal (an op TFLite lacks) is the person's answer, not a crash
        raise InputError(_("This model cannot be converted to TensorFlow Lite: {problem}").format(
            problem=first_line(exc))) from None  # fmt: skip


def export_run(run: Run, fmt: str, out: str | Path | None = None) -> tuple[Path, dict]:
    """Writes the run's ``fmt`` file to ``out`` (default: :func:`default_path`).

    Returns:
        The path written, and what was checked (``{"agreement": ...}`` for ONNX, else empty).
    """
    _check_format(fmt)
    path = Path(out) if out is not None else default_path(run, fmt)
    if path.is_dir():
        raise InputError(_("{path} is a folder: give a file name with --out.").format(path=path))
    exported = export_bytes(run, fmt)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, exported.data)
    except OSError as exc:
        raise InputError(_("Cannot write {path}: {problem}").format(path=path, problem=exc.strerror)) from None
    return path, exported.checked
