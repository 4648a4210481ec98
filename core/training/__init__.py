"""Training: the run config, data preparation, augmentation, the progress callback and the fit.

- ``config``: ``TrainConfig`` and ``SETTINGS``, the one contract from the form to config.json.
- ``data``: load and split a dataset into arrays.
- ``augment``: the augmentation registry.
- ``callbacks``: the callback that writes the run store while training.
- ``fit``: ``train(config)``, used by the CLI and (through ``core.runs.jobs``) by the app.
- ``estimate``: a seconds-per-epoch estimate from multiply-adds.
"""

from core.training.config import SETTING, SETTINGS, TrainConfig, presets_for
from core.training.data import mnist_to_model_input, one_hot, planned_train_size
from core.training.estimate import estimate_epoch_seconds
from core.training.fit import train

__all__ = [
    "SETTING",
    "SETTINGS",
    "TrainConfig",
    "estimate_epoch_seconds",
    "mnist_to_model_input",
    "one_hot",
    "planned_train_size",
    "presets_for",
    "train",
]
