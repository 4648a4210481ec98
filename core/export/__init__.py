"""Take a run home: its model in other formats and what it is (``python -m core.export``).

``export_run(run, fmt, out)`` writes one file and returns its path: ``keras`` (the checkpoint the run
keeps, ``best.keras`` else ``final.keras``), ``tflite`` (TensorFlow Lite, for phones) or ``card``
(``MODEL_CARD.md``, :mod:`core.export.card`). A file is written whole or not at all (a temp file
renamed), and a run that cannot give it is refused with the reason.
"""

from __future__ import annotations

from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import _
from core.base.storage import write_bytes_atomic
from core.runs.store import Run

FORMATS = ("keras", "tflite", "card")
NAMES = {"keras": "{run}.keras", "tflite": "{run}.tflite", "card": "MODEL_CARD.md"}


def default_path(run: Run, fmt: str) -> Path:
    """Where a format goes without ``--out``: the card in the run folder, models in its ``export/``."""
    name = NAMES[fmt].format(run=run.id)
    return run.path / name if fmt == "card" else run.path / "export" / name


def export_bytes(run: Run, fmt: str, actor=None) -> bytes:
    """The file's contents for ``fmt``.

    Args:
        actor: a web visitor, charged one "heavy" action for a conversion (``core.access.limits``); None: none.

    Raises:
        InputError: an unknown format, a run without a checkpoint or a usable config, a model TFLite cannot hold.
    """
    if fmt not in FORMATS:
        raise InputError(_("Expected a format in {choices}. Received: {value}").format(choices=", ".join(FORMATS),
                                                                                        value=fmt))  # fmt: skip
    if fmt == "card":
        from core.export.card import model_card

        return model_card(run).encode("utf-8")
    ckpt = run.checkpoint()
    if ckpt is None:
        raise InputError(_("Run {run} has no checkpoint (best.keras or final.keras): it has no model to export "
                           "yet.").format(run=run.id))  # fmt: skip
    if fmt == "keras":
        return ckpt.read_bytes()
    import keras

    from core.metrics.classes import to_tflite

    try:
        model = keras.models.load_model(ckpt, compile=False)
        return to_tflite(model, actor=actor)
    except InputError:
        raise
    except Exception as exc:  # a converter's refusal (an op TFLite lacks) is the person's answer, not a crash
        raise InputError(_("This model cannot be converted to TensorFlow Lite: {problem}").format(
            problem=str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__)) from None  # fmt: skip


def export_run(run: Run, fmt: str, out: str | Path | None = None) -> Path:
    """Writes the run's ``fmt`` file to ``out`` (default: :func:`default_path`); returns the path written."""
    data = export_bytes(run, fmt)
    path = Path(out) if out is not None else default_path(run, fmt)
    if path.is_dir():
        raise InputError(_("{path} is a folder: give a file name with --out.").format(path=path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise InputError(_("Cannot write {path}: {problem}").format(path=path, problem=exc.strerror)) from None
    return path
