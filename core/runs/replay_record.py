"""The replay record: how a model changed, epoch by epoch, kept small and read defensively.

Training (``core.training.replay_recorder``) writes, under ``runs/<id>/replay/``::

    meta.json        what was recorded: the first convolution layer's name and kernel shape
                     (null when the model has none), how many of its filters are kept,
                     the class names, the validation sample's size, seed and gallery size
    samples.npz      written once: ``images`` uint8 (G, h, w, c) thumbnails (at most
                     MAX_THUMB pixels a side) of the G gallery images, ``labels`` int (S,)
                     of the whole validation sample (the gallery is its first G)
    epoch-0000.npz   one per epoch, epoch 0 being the random weights before training:
                     ``kernels`` float32 (kh, kw, cin, F) (F <= MAX_FILTERS, absent without
                     a convolution), ``confusion`` int32 (K, K) on the S sample images
                     (rows true, columns predicted), ``probs`` float32 (G, K) for the
                     gallery, ``seconds`` (what recording this epoch cost)

Every file is written atomically (a temp file in the same folder, then a rename), so a
reader sees a whole file or none. The reader still never trusts one: a damaged, oversized
or inconsistent file is skipped with the reason in ``Replay.problems``.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.base.i18n import _
from core.base.storage import write_bytes_atomic

REPLAY_DIR = "replay"
META_FILE = "meta.json"
SAMPLES_FILE = "samples.npz"
EPOCH_FILE = "epoch-{epoch:04d}.npz"
EPOCH_RE = re.compile(r"^epoch-(\d{4,6})\.npz$")
SAMPLE_SIZE = 300  # validation images in the per-epoch confusion matrix: one extra pass over them
GALLERY_SIZE = 8  # sample images whose predictions are shown
MAX_FILTERS = 64  # first-layer filters kept per epoch (a 64-filter 3x3 RGB layer: 6.9 KB)
MAX_THUMB = 96  # gallery thumbnails are at most this many pixels a side
MAX_FILE_BYTES = 2 * 1024**2  # larger replay files are refused by the reader
MAX_EPOCHS_READ = 2000  # a folder with more epoch files is read up to this many


@dataclass
class Frame:
    """One epoch of a replay.

    Attributes:
        kernels: ``(kh, kw, cin, F)`` float32, or None when the model has no convolution.
        confusion: ``(K, K)`` int counts on the validation sample.
        probs: ``(G, K)`` the gallery images' predicted probabilities.
        seconds: what recording the epoch cost.
    """

    epoch: int
    kernels: np.ndarray | None
    confusion: np.ndarray
    probs: np.ndarray
    seconds: float | None = None


@dataclass
class Replay:
    """What a run's replay record holds; ``problems`` says what could not be read and why."""

    layer: str | None
    class_names: list[str]
    sample_size: int
    filters_total: int = 0
    images: np.ndarray | None = None  # (G, h, w, c) uint8
    labels: np.ndarray | None = None  # (S,) int: the sample's true classes, the gallery first
    frames: dict[int, Frame] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def epochs(self) -> list[int]:
        return sorted(self.frames)


# ----- what a frame says -------------------------------------------------------------------


def shown_epoch(replay: Replay, epoch: int) -> int:
    """The recorded epoch to show for ``epoch``: the newest one at or before it.

    An epoch whose file could not be read is skipped this way; before the first recorded
    epoch, the first one. ``replay`` must hold at least one frame.
    """
    epochs = replay.epochs
    return max(e for e in epochs if e <= epoch) if epoch >= epochs[0] else epochs[0]


def sample_accuracy(frame: Frame) -> tuple[int, int, float | None]:
    """How the model did on the fixed validation sample at this epoch.

    Returns:
        ``(right, total, accuracy)``: the confusion matrix's diagonal, its sum, and their
        ratio (None when the sample is empty).
    """
    right, total = int(np.trace(frame.confusion)), int(frame.confusion.sum())
    return right, total, right / total if total else None


def kernel_change(first: Frame | None, frame: Frame) -> float | None:
    """How far the first layer's kernels moved since ``first``: ``|K - K0| / |K0|`` (Frobenius norms).

    Returns:
        The ratio (0.0 for no change; with all-zero starting kernels, ``|K - K0|`` itself), or None
        when either frame has no kernels or their shapes differ.
    """
    if first is None or first.kernels is None or frame.kernels is None or first.kernels.shape != frame.kernels.shape:
        return None
    size = float(np.linalg.norm(first.kernels)) or 1.0
    return float(np.linalg.norm(frame.kernels - first.kernels)) / size


# ----- writing -------------------------------------------------------------------------


def replay_dir(run_path: str | Path) -> Path:
    return Path(run_path) / REPLAY_DIR


def write_npz_atomic(path: str | Path, **arrays: np.ndarray) -> int:
    """Writes arrays as an ``.npz`` to a temp file in the same folder, then renames it.

    Returns:
        The file's size in bytes.
    """
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    write_bytes_atomic(path, data)
    return len(data)


def kept_kernels(kernel: np.ndarray) -> np.ndarray:
    """The part of a 4-D kernel that is recorded: its first ``MAX_FILTERS`` filters, float32.

    Args:
        kernel: ``(kh, kw, cin, filters)`` (Conv2D) or ``(kh, kw, cin, multiplier)`` (depthwise).

    Raises:
        ValueError: ``kernel`` is not 4-D.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"Expected a 4-D kernel (kh, kw, cin, filters). Received shape {kernel.shape}.")
    return kernel[..., :MAX_FILTERS].astype(np.float32)


def sample_order(labels: np.ndarray, size: int, gallery: int, seed: int) -> np.ndarray:
    """A fixed, seeded sample of validation positions, its first ``gallery`` spread over the classes.

    Args:
        labels: ``(N,)`` the validation classes.
        size: at most this many positions (all when N is smaller).

    Returns:
        ``(min(N, size),)`` positions into the validation set.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(labels), size=min(size, len(labels)), replace=False))
    # Round-robin over the classes for the gallery: 8 MNIST digits show 8 different classes.
    first: list[int] = []
    queues = {c: list(picked[labels[picked] == c]) for c in np.unique(labels[picked])}
    while len(first) < min(gallery, len(picked)):
        for c in list(queues):
            if queues[c] and len(first) < gallery:
                first.append(queues[c].pop(0))
    chosen = set(first)
    rest = [i for i in picked if i not in chosen]
    return np.array(first + rest, dtype=np.int64)


def thumbnails(images: np.ndarray) -> np.ndarray:
    """Model inputs ``(G, H, W, C)`` in [0, 1] -> uint8 ``(G, h, w, C)``, at most ``MAX_THUMB`` a side."""
    from PIL import Image

    x = (np.clip(np.asarray(images, dtype=np.float32), 0, 1) * 255).round().astype(np.uint8)
    if max(x.shape[1:3], default=0) <= MAX_THUMB:
        return x
    scale = MAX_THUMB / max(x.shape[1:3])
    size = (max(1, round(x.shape[2] * scale)), max(1, round(x.shape[1] * scale)))  # PIL: (width, height)
    out = [np.asarray(Image.fromarray(img.squeeze(-1) if img.shape[-1] == 1 else img).resize(size, Image.BILINEAR))
           for img in x]  # fmt: skip
    small = np.stack(out)
    return small[..., None] if small.ndim == 3 else small


# ----- reading -------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or why they cannot be had (missing, not a regular file, too large)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the reader forever
            return _("{file} is not a regular file").format(file=path.name)
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _("{file} cannot be read ({problem})").format(file=path.name, problem=exc.strerror or exc)
    if len(raw) > MAX_FILE_BYTES:
        return _("{file} is larger than {limit} bytes").format(file=path.name, limit=MAX_FILE_BYTES)
    return raw


def _load_npz(path: Path) -> dict[str, np.ndarray] | str:
    raw = _read_bytes(path)
    if isinstance(raw, str):
        return raw
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.files}
    except Exception:  # zipfile, zlib, ValueError, EOFError...: any way a file can be torn
        return _("{file} is damaged").format(file=path.name)


def _meta(folder: Path) -> dict | str:
    raw = _read_bytes(folder / META_FILE)
    if isinstance(raw, str):
        return raw
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        meta = None
    return meta if isinstance(meta, dict) else _("{file} is damaged").format(file=META_FILE)


def _int(value, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def read_replay(run_path: str | Path) -> Replay | None:
    """Reads a run's replay record; never raises for a half-written or damaged one.

    Returns:
        None when the run has no record (no ``replay/meta.json``); otherwise the frames that
        could be read, in a :class:`Replay` whose ``problems`` list what was skipped.
    """
    folder = replay_dir(run_path)
    if not (folder / META_FILE).exists():
        return None
    meta = _meta(folder)
    if isinstance(meta, str):
        return Replay(None, [], 0, problems=[meta])
    names = meta.get("class_names")
    names = [str(n) for n in names] if isinstance(names, list) and 0 < len(names) <= 1000 else []
    layer = meta.get("layer") if isinstance(meta.get("layer"), str) else None
    replay = Replay(layer, names, _int(meta.get("sample_size")), _int(meta.get("filters_total")))
    k = len(names)
    samples = _load_npz(folder / SAMPLES_FILE)
    if isinstance(samples, str):
        replay.problems.append(samples)
    else:
        images, labels = samples.get("images"), samples.get("labels")
        if images is not None and images.dtype == np.uint8 and images.ndim == 4 and images.shape[-1] in (1, 3):
            replay.images = images
        if (
            labels is not None
            and labels.ndim == 1
            and labels.dtype.kind in "iu"
            and ((labels >= 0) & (labels < k)).all()
        ):
            replay.labels = labels.astype(np.int64)
        if replay.images is None or replay.labels is None:
            replay.problems.append(_("{file} is damaged").format(file=SAMPLES_FILE))
    try:
        entries = sorted(p for p in folder.iterdir() if EPOCH_RE.match(p.name))[:MAX_EPOCHS_READ]
    except OSError as exc:
        replay.problems.append(str(exc))
        entries = []
    for path in entries:
        frame = _frame(path, k, layer is not None)
        if isinstance(frame, str):
            replay.problems.append(frame)
        else:
            replay.frames[frame.epoch] = frame
    return replay


def _frame(path: Path, k: int, has_kernels: bool) -> Frame | str:
    """One epoch file, checked: shapes that fit the class count, finite numbers."""
    data = _load_npz(path)
    if isinstance(data, str):
        return data
    epoch = int(EPOCH_RE.match(path.name).group(1))
    bad = _("{file} is damaged").format(file=path.name)
    cm, probs, kernels = data.get("confusion"), data.get("probs"), data.get("kernels")
    if cm is None or cm.shape != (k, k) or cm.dtype.kind not in "iu" or (cm < 0).any():
        return bad
    if (
        probs is None
        or probs.ndim != 2
        or probs.shape[1] != k
        or probs.dtype.kind != "f"
        or not np.isfinite(probs).all()
    ):
        return bad
    if has_kernels and (kernels is None or kernels.ndim != 4 or kernels.dtype.kind != "f"):
        return bad
    if kernels is not None and not np.isfinite(kernels).all():
        return bad
    seconds = data.get("seconds")
    seconds = float(seconds) if seconds is not None and seconds.shape == () and np.isfinite(seconds) else None
    return Frame(epoch, kernels if has_kernels else None, cm.astype(np.int64), probs.astype(np.float32), seconds)
