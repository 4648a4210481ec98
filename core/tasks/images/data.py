"""The data of an image-folder run: check every file, split by seed, decode into arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import numpy as np

from core.base.errors import InputError
from core.data import folders
from core.training.config import TrainConfig
from core.training.data import PreparedData, one_hot

MAX_DATA_BYTES = 6 * 1024**3  # decoded float32 images kept in memory


def prepare_folder(cfg: TrainConfig, log: Callable[[str], None] = print) -> PreparedData:
    """Loads a class-folder dataset and splits it (train / validation / test; a ``test/`` folder wins).

    Raises:
        InputError: no --data, an unusable folder, or more images than memory allows.
    """
    if not cfg.data:
        raise InputError("--data FOLDER is required for --task images.")
    spec = cfg.spec
    log(f"Checking the images in {cfg.data} ...")
    scan = folders.scan_image_folder(
        cfg.data, progress=lambda d, t: log(f"  checked {d}/{t} files") if d % 500 == 0 or d == t else None
    )
    if scan.skipped:
        log(f"Skipped {len(scan.skipped)} unreadable file(s):")
        for s in scan.skipped[:50]:
            log(f"  {s.path}: {s.reason}")
    files, labels = np.array(scan.train_files), np.array(scan.train_labels)
    v = spec.validation_fraction
    if scan.test_files:
        tr, va, _ = folders.stratified_split(labels, (1 - v, v, 0.0), cfg.seed)
        test_files, test_labels = np.array(scan.test_files), np.array(scan.test_labels)
    else:
        t = cfg.test_fraction
        tr, va, te = folders.stratified_split(labels, (1 - v - t, v, t), cfg.seed)
        test_files, test_labels = files[te], labels[te]
    _check_memory(len(labels) + (len(test_labels) if scan.test_files else 0), cfg)
    h, w, c = cfg.input_shape()
    log(f"Decoding {len(labels)} images at {h}x{w} {spec.color_mode} ...")
    x_all = folders.load_image_arrays(files.tolist(), spec.image_size, spec.color_mode)
    x_test = (
        folders.load_image_arrays(test_files.tolist(), spec.image_size, spec.color_mode)
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
