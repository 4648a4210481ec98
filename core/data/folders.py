"""Datasets: folders of class images checked file by file (MNIST is ``core.data.mnist``).

Image folders look like ``root/<class>/*.png`` or ``root/train/<class>/...`` plus an
optional ``root/test/<class>/...``. Every file is opened and verified before training;
unreadable ones are skipped and reported, never a crash mid-epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _, ngettext
from core.data.images import IMAGE_EXTENSIONS, MAX_FILE_BYTES, check_image_file, load_array

MIN_IMAGES_PER_CLASS = 5
DEFAULT_SPLIT = (0.70, 0.15, 0.15)  # train / validation / test


def data_dir() -> Path:
    """The data folder: ``$CNNLAB_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("CNNLAB_DATA_DIR", "data"))


# ------------------------------------------------------------------------ image folders


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class FolderScan:
    """The checked content of an image folder.

    ``train`` holds every usable file when there is no ``test/`` folder; ``test`` is
    then empty and a split is made by :func:`stratified_split`.
    """

    root: str
    class_names: list[str]
    train_files: list[str]
    train_labels: list[int]
    test_files: list[str] = field(default_factory=list)
    test_labels: list[int] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Usable images per class (train + test)."""
        labels = np.asarray(self.train_labels + self.test_labels, dtype=int)
        return {name: int((labels == i).sum()) for i, name in enumerate(self.class_names)}


def _inside(path: Path, root: Path) -> bool:
    """True when ``path`` (links resolved) stays inside ``root``."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def _class_dirs(folder: Path) -> list[Path]:
    """Class subfolders: real folders only (a linked folder could lead anywhere on the machine)."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise InputError(
            _("Could not list {folder}: {problem}.").format(folder=folder, problem=exc.strerror or exc)
        ) from None
    return [p for p in entries if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "__"))]


def _list_class_files(class_dir: Path, root: Path, skipped: list[SkippedFile]) -> list[Path]:
    """Every file under a class folder, never following links out of the dataset."""
    out = []
    for base, dirs, names in os.walk(class_dir, followlinks=False, onerror=lambda e: skipped.append(
            SkippedFile(str(e.filename), _("could not be read: {problem}").format(problem=e.strerror)))):  # fmt: skip
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(base) / name
            if name.startswith("."):
                continue
            if path.is_symlink() and not _inside(path, root):
                skipped.append(SkippedFile(str(path), "a link that leads outside the dataset folder"))
            elif path.is_file():
                out.append(path)
            else:
                skipped.append(SkippedFile(str(path), "not a regular file (a device, pipe or socket)"))
    return out


def sample_files(folder: str | Path, per_class: int = 24) -> dict[str, list[str]]:
    """Up to ``per_class`` image paths per class (not decoded; links out of the dataset skipped)."""
    root = Path(folder)
    base = root / "train" if (root / "train").is_dir() else root
    out = {}
    for class_dir in _class_dirs(base):
        files = []
        for path in sorted(class_dir.iterdir())[: per_class * 4]:
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file() and _inside(path, root.resolve()):
                files.append(str(path))
        if files:
            out[class_dir.name] = files[:per_class]
    return out


def _roots(root: Path) -> tuple[Path, Path | None, list[str]]:
    """The train root, the optional test root and the class names (checked)."""
    train_root = root / "train" if (root / "train").is_dir() else root
    test_root = root / "test" if (root / "train").is_dir() and (root / "test").is_dir() else None
    class_dirs = _class_dirs(train_root)
    if test_root is None:
        class_dirs = [d for d in class_dirs if d.name not in ("test", "validation")]
    class_names = [d.name for d in class_dirs]
    if len(class_names) < 2:
        raise InputError(
            _("Expected at least 2 class subfolders in {folder}. Received: {names}. Put each class's images in its own "
              "subfolder (e.g. frontal/ and lateral/).").format(folder=train_root, names=class_names or _("none"))
        )  # fmt: skip
    if test_root is not None:
        test_names = [d.name for d in _class_dirs(test_root)]
        if sorted(test_names) != sorted(class_names):
            raise InputError(
                _("train/ and test/ must hold the same classes. Received train={train}, test={test}.").format(
                    train=class_names, test=test_names)
            )  # fmt: skip
    return train_root, test_root, class_names


def scan_image_folder(
    root: str | Path,
    min_per_class: int = MIN_IMAGES_PER_CLASS,
    max_bytes: int = MAX_FILE_BYTES,
    progress=None,
) -> FolderScan:
    """Lists and checks every file of a class-folder dataset.

    Args:
        root: ``root/<class>/...`` or ``root/train/<class>/...`` (+ optional ``root/test/``).
        min_per_class: fewer usable images than this in a class is an error.
        max_bytes: larger files are skipped.
        progress: optional ``callable(done, total)`` called while checking files.

    Returns:
        A :class:`FolderScan`; unreadable, non-image, too-large or outside-linked files are
        in ``skipped``. Linked class folders are not followed.

    Raises:
        InputError: missing/empty folder, fewer than 2 classes, too few images in a class,
            or train/test class names that differ.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(_("Dataset folder not found: {folder}").format(folder=root))
    if not root.is_dir():
        raise InputError(_("Expected a folder of class subfolders. Received a file: {path}").format(path=root))
    real_root = root.resolve()
    train_root, test_root, class_names = _roots(root)
    scan = FolderScan(str(root), class_names, [], [])
    jobs: list[tuple[str, Path, int]] = []
    for split_name, base in (("train", train_root), ("test", test_root)):
        for label, name in enumerate(class_names if base is not None else []):
            jobs += [(split_name, f, label) for f in _list_class_files(base / name, real_root, scan.skipped)]
    for done, (split_name, path, label) in enumerate(jobs, start=1):
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            reason = _("not an image file type ({suffix})").format(suffix=path.suffix or _("no extension"))
        else:
            reason = check_image_file(path, max_bytes)
        if reason is not None:
            scan.skipped.append(SkippedFile(str(path), reason))
        else:
            files, labels = (
                (scan.train_files, scan.train_labels) if split_name == "train" else (scan.test_files, scan.test_labels)
            )
            files.append(str(path))
            labels.append(label)
        if progress is not None and (done % 50 == 0 or done == len(jobs)):
            progress(done, len(jobs))
    too_few = {n: c for n, c in scan.counts().items() if c < min_per_class}
    if too_few:
        few = ", ".join(f"{n} ({c})" for n, c in too_few.items())
        raise InputError(
            (ngettext("Each class needs at least {n} readable image. Too few in: {classes}",
                      "Each class needs at least {n} readable images. Too few in: {classes}", min_per_class)
             + (ngettext("; {skipped} unreadable file was skipped.", "; {skipped} unreadable files were skipped.",
                         len(scan.skipped)) if scan.skipped else ".")).format(
                n=min_per_class, classes=few, skipped=len(scan.skipped))
        )  # fmt: skip
    return scan


def stratified_split(
    labels: list[int] | np.ndarray,
    fractions: tuple[float, float, float] = DEFAULT_SPLIT,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Splits indices into train/validation/test, class by class, deterministically.

    Each class is shuffled with a generator seeded by ``seed`` and cut by ``fractions``
    (rounded, but every split that has a non-zero fraction gets at least one image
    of each class when the class has 3 or more).

    Returns:
        Three sorted int arrays of indices into ``labels``.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise InputError(_("Expected 3 split fractions >= 0 that sum to 1. Received: {value}").format(value=fractions))
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n = len(idx)
        n_val = int(round(n * fractions[1]))
        n_test = int(round(n * fractions[2]))
        if n >= 3:
            n_val = max(n_val, 1) if fractions[1] > 0 else 0
            n_test = max(n_test, 1) if fractions[2] > 0 else 0
        n_train = n - n_val - n_test
        parts[0] += idx[:n_train].tolist()
        parts[1] += idx[n_train : n_train + n_val].tolist()
        parts[2] += idx[n_train + n_val :].tolist()
    return tuple(np.array(sorted(p), dtype=int) for p in parts)  # type: ignore[return-value]


def load_image_arrays(files: list[str], image_size: int, color_mode: str, progress=None) -> np.ndarray:
    """Decodes checked files into one float32 array (N, S, S, C) in [0, 1]."""
    channels = 1 if color_mode == "grayscale" else 3
    out = np.empty((len(files), image_size, image_size, channels), dtype=np.float32)
    for i, f in enumerate(files):
        arr = load_array(f, color_mode, image_size)
        out[i] = arr[..., None] if channels == 1 else arr
        if progress is not None and ((i + 1) % 100 == 0 or i + 1 == len(files)):
            progress(i + 1, len(files))
    return out


def make_dataset(
    x,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    augment=None,
):
    """Builds a batched ``tf.data`` pipeline from arrays (or a file list), cached and prefetched.

    Args:
        x: float32 array (N, H, W, C) in [0, 1].
        y: one-hot labels (N, K).
        augment: optional Keras preprocessing model applied to training batches.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        ds = ds.shuffle(min(len(y), 20_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:  # whole batches at a time, one per core (at most 4: each holds a batch in memory)
        ds = ds.map(lambda a, b: (augment(a, training=True), b), num_parallel_calls=min(4, _cores()))
    return without_autotune(ds.prefetch(PREFETCH_BATCHES))


PREFETCH_BATCHES = 2  # the next batches are ready while a step trains; more only holds memory


def _cores() -> int:
    """The cores this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def input_batches(x: np.ndarray, batch_size: int):
    """``x`` (N, ...) as a batched pipeline for ``model.predict``: Keras's own for arrays autotunes (see below)."""
    import tensorflow as tf

    return without_autotune(tf.data.Dataset.from_tensor_slices(x).batch(batch_size).prefetch(PREFETCH_BATCHES))


def without_autotune(ds):
    """``ds`` with tf.data's autotuning off (fixed buffers and parallelism instead): no stall when an iterator ends.

    With autotuning on (TensorFlow's default), destroying an iterator sometimes waited seconds using
    no CPU (most likely for the thread that re-tunes the pipeline between sleeps). Keras destroys one
    at the end of every epoch and of ``fit``, so fit times jumped at random: on 2 cores, 4 of 8
    mnist-fast fits waited 0.35-5.0 s after their last epoch; with autotuning off, 0 of 8, and the
    epochs are as fast (bench/teardown.py).
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


SHIPPED_TABLES = Path(__file__).resolve().parents[1] / "assets" / "tables"  # small CSVs shipped with the app


def list_tables(root: str | Path | None = None) -> list[str]:
    """CSV files for table runs: the data folder's (top level and ``tables/``) first, then the shipped ones.

    Files are not read here (that is :func:`core.data.table.csv_file.read_table`'s job).
    """
    root = Path(root) if root is not None else data_dir()
    found: list[str] = []
    for folder in (root, root / "tables", SHIPPED_TABLES):
        if folder.is_dir():
            found += [str(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() == ".csv"]
    return found


def list_datasets(root: str | Path | None = None) -> dict[str, list[str]]:
    """Finds what is in the data folder: ``{"mnist": [...npz], "folders": [...], "tables": [...csv]}``.

    A folder counts when it has 2+ subfolders (or ``train/`` with 2+ subfolders); files
    are not checked here (that is :func:`scan_image_folder`'s job). ``"tables"`` is
    :func:`list_tables` (the shipped CSVs too, after the data folder's).
    """
    root = Path(root) if root is not None else data_dir()
    found: dict[str, list[str]] = {"mnist": [], "folders": [], "tables": list_tables(root)}
    if not root.is_dir():
        return found
    for p in sorted(root.iterdir()):
        if p.is_file() and p.suffix == ".npz":
            found["mnist"].append(str(p))
        elif p.is_dir() and (p / "mnist.npz").is_file():
            found["mnist"].append(str(p / "mnist.npz"))
        elif p.is_dir():
            base = p / "train" if (p / "train").is_dir() else p
            if len(_class_dirs(base)) >= 2:
                found["folders"].append(str(p))
    return found
