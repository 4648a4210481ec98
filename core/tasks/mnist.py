"""The MNIST task: handwritten digits from an .npz (or Keras's download), drawn or photographed to predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.data import folders
from core.data import mnist as mnist_files
from core.runs.store import Run
from core.serving.inference import ModelInput, load_and_preprocess
from core.tasks.images import ImageTask
from core.tasks.images import evaluate as evaluation
from core.training.config import SETTING, TrainConfig
from core.training.data import PreparedData, one_hot

CLASSES = 10
SIZE = 28
TRAIN_SIZE = 60_000  # Keras's download, when no file is at hand to count


class MnistTask(ImageTask):
    """MNIST: 28x28 grayscale digits, its own test set; inputs are prepared like MNIST digits."""

    name = "mnist"
    label = N_("MNIST digits")
    data_help = "mnist.npz"
    needs_data = False  # the data folder's mnist.npz, else Keras's download
    digits = True
    augmentation = False
    sample_data = "mnist"
    preview_classes = CLASSES
    separate_test = True
    fixed_input = (SIZE, SIZE, 1)

    def check_input(self, cfg: TrainConfig) -> None:
        super().check_input(cfg)
        if cfg.spec.image_size not in (SIZE, SETTING["image_size"].default) or cfg.spec.color_mode != "grayscale":
            raise InputError(
                _("MNIST images are 28x28 grayscale. Received: --image-size {size}").format(size=cfg.spec.image_size)
            )
        cfg.spec.image_size = SIZE

    def same_data(self, a: dict, b: dict) -> bool:
        return True  # MNIST is MNIST, wherever its file lives (or Keras's download)

    def planned_train_size(self, cfg: TrainConfig, available: int | None, separate_test: bool) -> int | None:
        return super().planned_train_size(cfg, available or TRAIN_SIZE, True)

    def prepare_data(self, cfg: TrainConfig, log) -> PreparedData:
        mnist = mnist_files.load_mnist(cfg.data)
        v = cfg.spec.validation_fraction
        tr, va, _ = folders.stratified_split(mnist.y_train, (1 - v, v, 0.0), cfg.seed)
        x = mnist_files.mnist_to_model_input(mnist.x_train)
        return PreparedData(
            x[tr], one_hot(mnist.y_train[tr], CLASSES), x[va], one_hot(mnist.y_train[va], CLASSES),
            mnist_files.mnist_to_model_input(mnist.x_test), one_hot(mnist.y_test, CLASSES),
            list(mnist_files.MnistData.class_names), mnist.source, notes=mnist.notes,
        )  # fmt: skip

    def evaluation_data(self, run: Run, data: str | None, spec: ModelInput):
        """MNIST's test set (the run's .npz, or ``data``), or a folder of digit images prepared like MNIST.

        A folder (a room's drawings, photos of digits) is read image by image; blank ones are skipped.
        """
        names = list(spec.class_names)
        if not (data and Path(data).is_dir()):
            mnist = mnist_files.load_mnist(data or run.config().get("data"))
            return mnist_files.mnist_to_model_input(mnist.x_test), one_hot(mnist.y_test, CLASSES), names
        files, labels = evaluation.folder_files(data, names)
        kept = []
        for f, label in zip(files, labels):
            try:
                kept.append((load_and_preprocess(f, spec), label))
            except InputError:
                continue
        if not kept:
            raise InputError(_("No readable digit in {data}.").format(data=data))
        return np.stack([x for x, _ in kept]), one_hot(np.array([y for _, y in kept]), len(names)), names

    def reload_validation(self, run: Run):
        """The validation split, made again from the run's data file with its seed, as training did."""
        data = self.prepare_data(TrainConfig.from_dict(run.config()), lambda _msg: None)
        return data.x_val, data.x_train, data.y_train.argmax(axis=1)
