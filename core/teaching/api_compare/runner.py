"""Trains one way of the API comparison as a job, into a normal run folder.

A comparison is three runs queued together (one per way, the same data, seed and budget);
they run one after another, so none competes with another for the CPU. Each is a regular
``mnist-tutorial`` run (curves, Evaluate and Predict work on it) whose ``config.json``
also holds ``api_compare``: the way, the budget and the comparison it belongs to.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace
from functools import partial
from types import SimpleNamespace
from typing import Any

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.settings import check_all, setting, settings_of
from core.models import get_preset
from core.runs.store import Run, now_iso
from core.teaching.api_compare import WAYS
from core.training.config import TrainConfig

PRESET = "mnist-tutorial"  # the network all three ways write
BATCH_SIZE = 128
GROUP_PATTERN = re.compile(r"[0-9A-Za-z-]{1,40}")


@dataclass
class ApiRunConfig:
    """One way's run; ``to_dict()`` is its ``config.json`` (a TrainConfig's, plus ``api_compare``)."""

    way: str = setting(str, "keras", N_("Way"), N_("how the network is written"), choices=tuple(WAYS))
    data: str | None = None  # mnist.npz (None: the data folder, then Keras's download)
    epochs: int = setting(int, 1, N_("Epochs"), N_("passes over the training images"), lo=1, hi=20)
    max_batches: int | None = setting(int, None, N_("Batches per epoch"),
        N_("train this many batches of one epoch (a quick demo; empty: whole epochs)"), lo=1, hi=10_000,
        optional=True)  # fmt: skip
    seed: int = setting(int, 42, N_("Seed"), N_("same seed, same data order and initial weights"), lo=0, hi=2**31 - 1)
    group: str = "comparison"  # the comparison this run belongs to (its start time)

    def validate(self) -> list[str]:
        """Checks every field and the data's config.

        Raises:
            InputError: the first bad value.
        """
        check_all(self, API_SETTINGS)
        if not isinstance(self.group, str) or not GROUP_PATTERN.fullmatch(self.group):
            raise InputError(
                _("Expected group to be 1 to 40 letters, digits or '-'. Received: {value}").format(
                    value=repr(self.group)
                )
            )
        if self.max_batches is not None and self.epochs != 1:
            raise InputError(
                _("The budget is whole epochs or, for a quick demo, some batches of one epoch. Received: epochs={epochs}, "
                  "max_batches={batches}").format(epochs=self.epochs, batches=self.max_batches)
            )  # fmt: skip
        from core.tasks import validate

        return validate(self.train_config())

    def train_config(self) -> TrainConfig:
        """The ``mnist-tutorial`` config every way shares: the same data split and seed, no augmentation."""
        spec = replace(get_preset(PRESET), epochs=self.epochs, batch_size=BATCH_SIZE, augment={})
        return TrainConfig(task="mnist", data=self.data, spec=spec, preset=PRESET, name=self.run_name(), seed=self.seed)

    def run_name(self) -> str:
        return f"api-{self.way}"

    def to_dict(self) -> dict:
        return {**self.train_config().to_dict(),
                "api_compare": {"way": self.way, "epochs": self.epochs, "max_batches": self.max_batches,
                                "group": self.group}}  # fmt: skip

    @classmethod
    def from_dict(cls, config: Any) -> ApiRunConfig:
        """Reads a run's ``config.json``.

        Raises:
            InputError: no ``api_compare`` section.
        """
        info = config.get("api_compare") if isinstance(config, dict) else None
        if not isinstance(info, dict):
            raise InputError(_("This run folder's config.json is not an API comparison run (no 'api_compare')."))
        return cls(way=info.get("way"), data=config.get("data"), epochs=info.get("epochs", 1),
                   max_batches=info.get("max_batches"), seed=config.get("seed", 42),
                   group=info.get("group", "comparison"))  # fmt: skip


API_SETTINGS = settings_of(ApiRunConfig, "api")


def comparison_configs(data: str | None, epochs: int = 1, max_batches: int | None = None,
                       seed: int = 42) -> list[ApiRunConfig]:  # fmt: skip
    """The three runs of one comparison, with a group named after now."""
    group = now_iso().replace(":", "").replace("T", "-")[:17]
    return [ApiRunConfig(way, data, epochs, max_batches, seed, group) for way in WAYS]


def fit_way(way: str, x_train, y_train, x_val, y_val, *, callbacks=None, **options):
    """Trains one way from fresh weights; returns a Keras model holding the trained weights.

    The low-level way's weights are copied into the Keras network (the same maths: see
    tests/test_api_compare.py), so that every way is saved, tested and served alike.

    Args:
        callbacks: a Keras callback (the run store's progress writer), or None.
        options: ``epochs``, ``batch_size``, ``max_batches``, ``seed``.
    """
    from core.teaching.api_compare import keras_fit, keras_xla, lowlevel

    if way == "lowlevel":
        if callbacks is not None:  # a hand-written loop has no Keras model: the callback gets a stand-in
            callbacks.set_model(SimpleNamespace(stop_training=False,
                                                optimizer=SimpleNamespace(learning_rate=lowlevel.LEARNING_RATE)))  # fmt: skip
        weights = lowlevel.train(x_train, y_train, x_val, y_val, callbacks=callbacks, **options)
        model = keras_fit.build_model()
        model.set_weights([w.numpy() for w in weights])
        return model
    module = {"keras": keras_fit, "keras_xla": keras_xla}[way]
    return module.train(x_train, y_train, x_val, y_val, callbacks=[callbacks] if callbacks else [], **options)


def train_queued(run: Run) -> dict:
    """Trains a queued comparison run (``python -m core.train --run-dir`` sends these here)."""
    from core.tasks import train

    cfg = ApiRunConfig.from_dict(run.config())
    cfg.validate()
    return train(cfg.train_config(), run=run, fit=partial(_fit_and_test, cfg))


def _fit_and_test(cfg: ApiRunConfig, tcfg: TrainConfig, run: Run, data, result: dict) -> dict:
    from core.tasks.images.fit import finish_fit, record_model
    from core.training.callbacks import make_run_callback

    full = math.ceil(len(data.y_train) / BATCH_SIZE)
    steps = min(full, cfg.max_batches or full)
    record_model(run, tcfg, data, steps, full_steps_per_epoch=full)
    run.log(f"{WAYS[cfg.way].label}: {cfg.epochs} epoch(s) of {steps} batches of {BATCH_SIZE} "
            f"({len(data.y_train)} training images).")  # fmt: skip
    progress = make_run_callback(run, steps, cfg.epochs, None)
    t0 = time.perf_counter()
    model = fit_way(cfg.way, data.x_train, data.y_train, data.x_val, data.y_val, callbacks=progress,
                    epochs=cfg.epochs, batch_size=BATCH_SIZE, max_batches=cfg.max_batches, seed=cfg.seed)  # fmt: skip
    return finish_fit(run, model, data, tcfg, progress, result, round(time.perf_counter() - t0, 2))
