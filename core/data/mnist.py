"""MNIST: an .npz with Keras's key names, checked before it is trusted, or Keras's download.

A file is read only after its zip directory says it is not a decompression bomb; images
and labels are checked for shape, type and range; a usable file that is not in MNIST's own
format (0..1 floats, digits as text) is converted and says so in ``notes``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _, number
from core.data.folders import data_dir
from core.data.images import check_regular_file

MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class MnistData:
    """MNIST arrays as uint8 images (N, 28, 28) and uint8 labels (N,).

    ``notes`` says what was done to a file that was usable but not in MNIST's own format
    (images scaled to 0..1, labels stored as text...), for the run log.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)

    class_names = [str(d) for d in range(10)]


MNIST_SIDE = 28
MAX_NPZ_BYTES = 1024**3  # uncompressed; MNIST itself is 55 MB


def find_mnist(path: str | Path | None = None) -> Path | None:
    """Finds an MNIST .npz: an explicit path, else ``$CNNLAB_DATA_DIR/mnist.npz``
    (or ``mnist/mnist.npz``, the layout of the shared data folder)."""
    if path is not None:
        return Path(path)
    for candidate in (data_dir() / "mnist.npz", data_dir() / "mnist" / "mnist.npz"):
        if candidate.is_file():
            return candidate
    return None


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of an .npz, after checking what they would take in memory.

    An .npz is a zip: its members' declared sizes are read first, so a small file that
    would expand to gigabytes is refused before anything is decompressed.
    """
    check_regular_file(path, "MNIST .npz")
    try:
        with zipfile.ZipFile(path) as zf:
            sizes = {i.filename: i.file_size for i in zf.infolist()}
        if sum(sizes.values()) > MAX_NPZ_BYTES:
            raise InputError(_("{file} would expand to {size} GB (at most {limit} GB); MNIST itself is 55 MB.").format(
                file=path.name, size=number(sum(sizes.values()) / 1e9, 1), limit=number(MAX_NPZ_BYTES / 1e9, 0)))  # fmt: skip
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in MNIST_KEYS if k not in npz.files]
            if missing:
                raise InputError(
                    _("{file} lacks the MNIST arrays {missing}; expected keys {keys}.").format(
                        file=path.name, missing=missing, keys=list(MNIST_KEYS))
                )  # fmt: skip
            return {k: npz[k] for k in MNIST_KEYS}
    except InputError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, pickle refusal
        raise InputError(
            _("{file} is not a readable .npz file: {problem}").format(file=path.name, problem=str(exc)[:200])
        ) from None


def _mnist_images(x: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """(N, 28, 28) numbers in 0..255 (or 0..1, rescaled with a note) -> uint8."""
    if x.ndim != 3 or x.shape[1:] != (MNIST_SIDE, MNIST_SIDE) or x.shape[0] == 0:
        raise InputError(_("Expected {name} of shape (N, 28, 28). Received: {shape}").format(name=name, shape=x.shape))
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "iuf":
        raise InputError(_("Expected {name} to hold numbers. Received: dtype {dtype}").format(name=name, dtype=x.dtype))
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise InputError(_("{name} holds NaN or infinite values.").format(name=name))
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255:
        raise InputError(
            _("Expected {name} pixel values in 0..255 (or 0..1). Received: {lo}..{hi}").format(
                name=name, lo=f"{lo:g}", hi=f"{hi:g}"
            )
        )
    if hi <= 1.0:
        notes.append(_("{name} held values in 0..1: multiplied by 255 to match MNIST.").format(name=name))
        x = x * 255.0
    return np.rint(x).astype(np.uint8)


def _mnist_labels(y: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """(N,) whole numbers 0..9 (or digit strings, converted with a note) -> uint8."""
    if y.ndim != 1:
        raise InputError(_("Expected {name} of shape (N,). Received: {shape}").format(name=name, shape=y.shape))
    if y.dtype.kind in "US":
        text = np.char.strip(y.astype(str))
        if not all(t.isdigit() and len(t) == 1 for t in np.unique(text)):
            raise InputError(
                _("Expected {name} to hold the digits 0..9. Received text such as {example}.").format(
                    name=name, example=repr(text[0])
                )
            )
        notes.append(_("{name} held the digits as text: converted to numbers.").format(name=name))
        y = text.astype(np.int64)
    if y.dtype.kind not in "iuf":
        raise InputError(
            _("Expected {name} to hold the digits 0..9. Received: dtype {dtype}").format(name=name, dtype=y.dtype)
        )
    if y.dtype.kind == "f" and (not np.isfinite(y).all() or (y != np.round(y)).any()):
        raise InputError(
            _("Expected {name} to hold whole numbers 0..9. Received fractional or NaN labels.").format(name=name)
        )
    if y.size and (y.min() < 0 or y.max() > 9):
        raise InputError(
            _("Expected {name} in 0..9. Received: {lo}..{hi}").format(name=name, lo=f"{y.min():g}", hi=f"{y.max():g}")
        )
    return y.astype(np.uint8)


def load_mnist_npz(path: str | Path) -> MnistData:
    """Loads an .npz with Keras's key names (x_train, y_train, x_test, y_test).

    Raises:
        InputError: missing file, not an .npz, missing keys, wrong shapes or values, or a
            training set with a single class (training would learn nothing).
    """
    path = Path(path)
    arrays, notes = _read_npz(path), []
    for split in ("train", "test"):
        x = _mnist_images(arrays[f"x_{split}"], f"x_{split}", notes)
        y = _mnist_labels(arrays[f"y_{split}"], f"y_{split}", notes)
        if x.shape[0] != y.shape[0]:
            raise InputError(
                _("x_{split} has {images} images but y_{split} has {labels} labels.").format(
                    split=split, images=x.shape[0], labels=y.shape[0])
            )  # fmt: skip
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    classes = np.unique(arrays["y_train"])
    if len(classes) < 2:
        raise InputError(
            _("y_train holds a single class ({classes}): a model cannot learn to tell digits apart.").format(
                classes=classes.tolist()
            )
        )
    return MnistData(*(arrays[k] for k in MNIST_KEYS), source=str(path), notes=notes)


def load_mnist(path: str | Path | None = None) -> MnistData:
    """Loads MNIST from ``path``, the data folder, or (last resort) Keras's download.

    Raises:
        InputError: nothing found locally and the download failed (offline).
    """
    found = find_mnist(path)
    if found is not None:
        return load_mnist_npz(found)
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:
        raise InputError(
            _("MNIST was not found and could not be downloaded ({reason}). Put mnist.npz (Keras key names) at "
              "{path} or pass --data PATH/mnist.npz.").format(reason=type(exc).__name__, path=data_dir().resolve() / "mnist.npz")
        ) from exc  # fmt: skip
    return MnistData(x_train, y_train, x_test, y_test, source="keras.datasets.mnist")


def mnist_to_model_input(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    # One float32 array written in place: astype-then-divide made two (188 MB each for the
    # training set), and touching fresh memory cost 1 to 4 s of the run's start on a busy laptop.
    out = np.empty((*x.shape, 1), np.float32)
    np.divide(x[..., None], np.float32(255), out=out, dtype=np.float32)
    return out
