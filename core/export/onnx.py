"""A run's model as ONNX, checked against Keras on the run's own test data before it is handed out.

Why tf2onnx and not Keras's ``model.export(format="onnx")``: on this stack Keras's route refuses a
model that was never called (a freshly loaded ``best.keras``) and, for a table net, writes a file
whose ``StringLookup`` became a TensorFlow-only op (``LookupTableFindV2``) without an error; only
``onnx.checker`` or onnxruntime fail later. ``tf2onnx.convert.from_keras`` converts every preset and
both kinds of table net (measured: same top class on 100% of inputs, probabilities within 5e-6).

The file is never assumed right: :func:`agreement` runs it with onnxruntime on the run's test
inputs (:meth:`core.tasks.base.Task.test_inputs`) and compares with ``model.predict``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from core.base.errors import InputError, first_line
from core.base.i18n import _

PACKAGES = ("tf2onnx", "onnx", "onnxruntime")  # pinned in requirements.txt
OPSET = 15  # tf2onnx 1.17's default; onnxruntime 1.32 runs up to 22
MIN_SAME_TOP = 0.999  # share of inputs whose most likely class must agree
MAX_PROB_DIFF = 1e-4  # largest difference of any class probability
RTOL = 1e-4  # a regression's outputs: |onnx - keras| <= RTOL * max(1, |keras|)
MAX_CHECKED = 10_000  # test inputs compared (MNIST's whole test set)


@dataclass
class Agreement:
    """How the ONNX file's outputs compare with Keras's on the same inputs."""

    n: int  # inputs compared
    same_top: float | None  # share with the same most likely class (None: a regression)
    max_diff: float  # largest |onnx - keras| of any output
    ok: bool

    def to_dict(self) -> dict:
        return {"n": self.n, "same_top": self.same_top, "max_diff": self.max_diff, "ok": self.ok}


def check_packages() -> None:
    """Raises InputError naming the missing packages when the ONNX route is not installed."""
    missing = [p for p in PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise InputError(_("ONNX export needs the packages {missing}, which are not installed here. Install the "
                           "project's requirements (pip install -r requirements.txt).").format(
            missing=", ".join(missing)))  # fmt: skip


def _signature(model) -> list:
    """tf2onnx's input signature: one TensorSpec per Keras input, named as Keras names it.

    An image model takes ``image`` (N, H, W, C) float32; a table net a dict of (N, 1) tensors,
    float32 for numbers and string for categories (``core.models.table_net``).
    """
    import tensorflow as tf

    specs = {t.name: tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs}
    return [specs] if isinstance(model.input, dict) else list(specs.values())


def to_onnx(model) -> bytes:
    """Converts a Keras model to ONNX bytes (checked with ``onnx.checker``).

    Raises:
        InputError: a package is missing, or the converter refuses the model (its first line).
    """
    check_packages()
    try:
        import onnx
        import tf2onnx

        proto, _storage = tf2onnx.convert.from_keras(model, input_signature=_signature(model), opset=OPSET)
        onnx.checker.check_model(proto)
    except Exception as exc:  # an op ONNX lacks: the person's answer, not a crash
        raise InputError(
            _("This model cannot be converted to ONNX: {problem}").format(problem=first_line(exc))
        ) from None
    return proto.SerializeToString()


def _feed(session, inputs) -> dict:
    """onnxruntime's feed: the image array, or the table's columns (strings as an object array)."""
    if isinstance(inputs, dict):
        return {i.name: (inputs[i.name] if inputs[i.name].dtype != object else inputs[i.name].astype(str).astype(object))
                for i in session.get_inputs()}  # fmt: skip
    return {session.get_inputs()[0].name: np.asarray(inputs, np.float32)}


def agreement(data: bytes, model, inputs, regression: bool = False) -> Agreement:
    """Runs the ONNX ``data`` and ``model`` on the same ``inputs`` and compares their outputs.

    Args:
        inputs: (N, H, W, C) float32 images, or a table net's dict of (N, 1) columns.
        regression: outputs are numbers (compared with a relative tolerance), not class probabilities.
    """
    if isinstance(inputs, dict):
        n = min(len(next(iter(inputs.values()))), MAX_CHECKED)
        inputs = {k: v[:n] for k, v in inputs.items()}
        from core.models.table_net import make_dataset

        expected = model.predict(make_dataset(inputs, batch_size=1024), verbose=0)
    else:
        inputs = np.asarray(inputs[:MAX_CHECKED], np.float32)
        n = len(inputs)
        expected = model.predict(inputs, batch_size=256, verbose=0)
    got = _run(data, inputs)
    expected = np.asarray(expected, np.float64)
    if n == 0 or got.shape != expected.shape:  # nothing compared is no check
        return Agreement(n, None if regression else 0.0, float("inf"), False)
    diff = float(np.max(np.abs(got - expected)))
    if regression:
        ok = bool(np.all(np.abs(got - expected) <= RTOL * np.maximum(1.0, np.abs(expected))))
        return Agreement(n, None, diff, ok)
    same = float(np.mean(got.argmax(axis=1) == expected.argmax(axis=1)))
    return Agreement(n, same, diff, same >= MIN_SAME_TOP and diff <= MAX_PROB_DIFF)


def _run(data: bytes, inputs) -> np.ndarray:
    """The ONNX file's first output for ``inputs``, from onnxruntime.

    Raises:
        InputError: onnxruntime cannot load or run the file (its first line).
    """
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        return np.asarray(session.run(None, _feed(session, inputs))[0], np.float64)
    except Exception as exc:  # a broken install or a file it cannot run: a message, not a crash
        raise InputError(
            _("onnxruntime could not run the ONNX file: {problem}").format(problem=first_line(exc))
        ) from None


def checked_onnx(run, model, actor=None) -> tuple[bytes, Agreement]:
    """The run's model as ONNX, with its agreement with Keras on the run's test inputs.

    Raises:
        InputError: a missing package, a refused conversion, no test inputs, or a file that disagrees.
    """
    from core.access.limits import take_for
    from core.tasks import of_run

    check_packages()
    take_for("heavy", actor)
    task = of_run(run)
    inputs = task.test_inputs(run)
    data = to_onnx(model)
    regression = (run.config().get("table") or {}).get("task") == "regression"
    result = agreement(data, model, inputs, regression)
    if not result.ok:
        raise InputError(_("The ONNX file does not give the same answers as the Keras model on the run's {n} test "
                           "inputs (same top class {same}, largest difference {diff:.2g}): it is not written.").format(
            n=result.n, same="-" if result.same_top is None else f"{result.same_top:.2%}", diff=result.max_diff))  # fmt: skip
    return data, result
