"""Data for a run: load, split (train / validation / test) and decode into arrays for ``fit``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from core.base.errors import InputError
from core.data import folders as datasets
from core.data import mnist as mnist_files
from core.training.config import MNIST_CLASSES, TrainConfig

MAX_DATA_BYTES = 6 * 1024**3  # decoded float32 images kept in memory
MNIST_TRAIN_SIZE = 60_000  # Keras's download, when no file is at hand to count


@dataclass
class PreparedData:
    """Arrays ready for ``fit``: x float32 (N, H, W, C) in [0, 1], y one-hot (N, K)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    split: dict = field(default_factory=dict)  # file lists for image folders
    skipped: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done to make the data usable

    def facts(self) -> dict:
        """What training learnt of the data, for config.json."""
        return {"class_names": self.class_names, "data_source": self.source, "n_train": len(self.y_train),
                "n_val": len(self.y_val), "n_test": len(self.y_test), "skipped_files": self.skipped}  # fmt: skip


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[np.asarray(labels, dtype=int)]


def mnist_to_model_input(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / 255.0)[..., None]


def planned_train_size(cfg: TrainConfig, available: int | None, separate_test: bool) -> int:
    """How many images training will see, before the data is loaded (for time estimates).

    Args:
        available: images in the MNIST training file or the dataset folder (None: MNIST's 60,000).
        separate_test: the test images are elsewhere (MNIST's test set, a ``test/`` folder).
    """
    n = MNIST_TRAIN_SIZE if available is None else available
    held_out = cfg.spec.validation_fraction + (0.0 if separate_test or cfg.task == "mnist" else cfg.test_fraction)
    return max(1, round(n * (1 - held_out)))


def prepare_data(cfg: TrainConfig, log: Callable[[str], None] = print) -> PreparedData:
    """Loads and splits the data for a run (see DESIGN.md "Data")."""
    if cfg.task == "mnist":
        return _prepare_mnist(cfg)
    return _prepare_folder(cfg, log)


def _prepare_mnist(cfg: TrainConfig) -> PreparedData:
    mnist = mnist_files.load_mnist(cfg.data)
    v = cfg.spec.validation_fraction
    tr, va, _ = datasets.stratified_split(mnist.y_train, (1 - v, v, 0.0), cfg.seed)
    x, k = mnist_to_model_input(mnist.x_train), MNIST_CLASSES
    return PreparedData(
        x[tr], one_hot(mnist.y_train[tr], k), x[va], one_hot(mnist.y_train[va], k),
        mnist_to_model_input(mnist.x_test), one_hot(mnist.y_test, k), list(mnist_files.MnistData.class_names), mnist.source,
        notes=mnist.notes,
    )  # fmt: skip


def _prepare_folder(cfg: TrainConfig, log: Callable[[str], None]) -> PreparedData:
    if not cfg.data:
        raise InputError("--data FOLDER is required for --task images.")
    spec = cfg.spec
    log(f"Checking the images in {cfg.data} ...")
    scan = datasets.scan_image_folder(
        cfg.data, progress=lambda d, t: log(f"  checked {d}/{t} files") if d % 500 == 0 or d == t else None
    )
    if scan.skipped:
        log(f"Skipped {len(scan.skipped)} unreadable file(s):")
        for s in scan.skipped[:50]:
            log(f"  {s.path}: {s.reason}")
    files, labels = np.array(scan.train_files), np.array(scan.train_labels)
    v = spec.validation_fraction
    if scan.test_files:
        tr, va, _ = datasets.stratified_split(labels, (1 - v, v, 0.0), cfg.seed)
        test_files, test_labels = np.array(scan.test_files), np.array(scan.test_labels)
    else:
        t = cfg.test_fraction
        tr, va, te = datasets.stratified_split(labels, (1 - v - t, v, t), cfg.seed)
        test_files, test_labels = files[te], labels[te]
    _check_memory(len(labels) + (len(test_labels) if scan.test_files else 0), cfg)
    h, w, c = cfg.input_shape()
    log(f"Decoding {len(labels)} images at {h}x{w} {spec.color_mode} ...")
    x_all = datasets.load_image_arrays(files.tolist(), spec.image_size, spec.color_mode)
    x_test = (
        datasets.load_image_arrays(test_files.tolist(), spec.image_size, spec.color_mode)
        if scan.test_files
        else x_all[te]
    )
    k = len(scan.class_names)

    def listing(f: np.ndarray, y: np.ndarray) -> list[list]:
        return [[name, int(label)] for name, label in zip(f.tolist(), y.tolist())]

    split = {"class_names": scan.class_names, "train": listing(files[tr], labels[tr]),
             "validation": listing(files[va], labels[va]), "test": listing(test_files, test_labels)}  # fmt: skip
    return PreparedData(
        x_all[tr], one_hot(labels[tr], k), x_all[va], one_hot(labels[va], k), x_test, one_hot(test_labels, k),
        scan.class_names, str(cfg.data), split, [asdict(s) for s in scan.skipped],
    )  # fmt: skip


def _check_memory(n_images: int, cfg: TrainConfig) -> None:
    h, w, c = cfg.input_shape()
    nbytes = n_images * h * w * c * 4
    if nbytes > MAX_DATA_BYTES:
        raise InputError(
            f"{n_images} images at {h}x{w}x{c} need {nbytes / 1e9:.1f} GB of memory; choose a smaller --image-size."
        )
