"""Training machinery every task shares: the run config, the run's life, callbacks, placement.

- ``config``: ``TrainConfig`` and ``SETTINGS``, the one contract from the form to config.json.
- ``fit``: a run folder's life from start to end (``train_run``, ``finish``, ``failed``).
- ``data``: ``PreparedData``, the arrays an image task hands ``fit``.
- ``augment``: the augmentation registry.
- ``callbacks``: the callback that writes the run store while training.
- ``replay_recorder``: the callback that records the replay (first-layer kernels, confusion matrix).
- ``distribute`` (+ ``multiworker_fix``): where training runs (``--devices``).
- ``estimate``: a seconds-per-epoch estimate from multiply-adds.

What differs between tasks (their data, fit and test) lives in :mod:`core.tasks`;
``core.tasks.train(config)`` is the entry point.
"""

from core.training.config import SETTING, SETTINGS, TrainConfig, presets_for
from core.training.estimate import estimate_epoch_seconds

__all__ = ["SETTING", "SETTINGS", "TrainConfig", "estimate_epoch_seconds", "presets_for"]
