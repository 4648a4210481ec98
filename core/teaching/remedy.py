"""The one change a curves finding suggests, as the config of a new run.

:func:`core.teaching.diagnosis.diagnose` says what a run's curves show; :func:`remedy_for` turns a
finding into the same run's config with one sensible change (a lower learning rate, Dropout,
augmentation, more epochs), which the Train page opens pre-filled. The rules are plain
arithmetic on the config, so they are tested without training anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from core.base.errors import InputError
from core.base.i18n import N_, _, percent
from core.models.specs import LayerSpec, ModelSpec
from core.tasks import get, validate
from core.teaching.diagnosis import MIN_EPOCHS
from core.training.augment import AUGMENTATIONS
from core.training.config import SETTING, TrainConfig

LR_DOWN_DIVERGED = 10.0  # the loss became NaN: a tenth of the rate
LR_DOWN = 3.0  # the loss jumped: a third of it
LR_UP = 3.0  # slow and steady, or flat and high: three times it
EPOCHS_UP = 2  # healthy but still improving: twice the epochs
DROPOUT_NEW = 0.3  # the rate of a Dropout added before the classifier
DROPOUT_STEP, DROPOUT_MAX = 0.2, 0.5  # a Dropout already there is raised by this much, up to this
AUGMENT_ON = ("rotation", "zoom", "translation")  # safe for any image class (a flip is not, for text)


@dataclass(frozen=True)
class Remedy:
    """A suggested new run: ``config`` is the old run's with ``changes`` applied."""

    kind: str  # the finding it answers (core.teaching.diagnosis.Finding.kind)
    label: str  # button text: "Train again with a lower learning rate"
    changes: tuple[str, ...]  # for people: "Learning rate: 0.001 -> 0.0003"
    config: TrainConfig


def _rate(spec: ModelSpec, factor: float) -> tuple[ModelSpec, str] | None:
    """The learning rate times ``factor``, kept in its setting's range (None: already at the limit)."""
    s = SETTING["learning_rate"]
    new = min(max(spec.learning_rate * factor, s.lo), s.hi)
    new = float(f"{new:.2g}")  # 0.000333.. -> 0.00033: a value people can read and type
    if new == spec.learning_rate:
        return None
    change = _("Learning rate: {old} -> {new}").format(old=f"{spec.learning_rate:g}", new=f"{new:g}")
    return dataclasses.replace(spec, learning_rate=new), change


def _lower_rate(factor: float) -> Callable[[TrainConfig], tuple[ModelSpec, str] | None]:
    return lambda cfg: _rate(cfg.spec, 1 / factor)


def _higher_rate(cfg: TrainConfig) -> tuple[ModelSpec, str] | None:
    return _rate(cfg.spec, LR_UP)


def _more_epochs(cfg: TrainConfig) -> tuple[ModelSpec, str] | None:
    spec = cfg.spec
    new = min(spec.epochs * EPOCHS_UP, int(SETTING["epochs"].hi))
    if new == spec.epochs:
        return None
    return dataclasses.replace(spec, epochs=new), _("Epochs: {old} -> {new}").format(old=spec.epochs, new=new)


def _regularise(cfg: TrainConfig) -> tuple[ModelSpec, str] | None:
    """Images without augmentation (where their task offers it) get some; otherwise a Dropout before the classifier (added or raised)."""
    spec = cfg.spec
    if get(cfg.task).augmentation and not spec.augment:
        augment = {name: AUGMENTATIONS[name].value.default for name in AUGMENT_ON}
        labels = ", ".join(_(AUGMENTATIONS[name].value.label).lower() for name in AUGMENT_ON)
        return dataclasses.replace(spec, augment=augment), _("Augmentation: {names}").format(names=labels)
    layers = list(spec.layers)
    if layers and layers[-1].kind == "Dropout":
        old = layers[-1].rate or 0.0
        new = round(min(old + DROPOUT_STEP, DROPOUT_MAX), 2)
        if new <= old:
            return None
        layers[-1] = dataclasses.replace(layers[-1], rate=new)
        change = _("Dropout before the classifier: {old} -> {new}").format(old=percent(old, 0), new=percent(new, 0))
    else:
        layers.append(LayerSpec("Dropout", rate=DROPOUT_NEW))
        change = _("A Dropout layer ({rate}) before the classifier").format(rate=percent(DROPOUT_NEW, 0))
    return dataclasses.replace(spec, layers=layers), change


def _enough_epochs_for_curves(cfg: TrainConfig) -> tuple[ModelSpec, str] | None:
    """A one-pass recipe trained for the epochs a curve needs (:data:`core.teaching.diagnosis.MIN_EPOCHS`)."""
    spec = cfg.spec
    if spec.epochs >= MIN_EPOCHS:
        return None
    return dataclasses.replace(spec, epochs=MIN_EPOCHS), _("Epochs: {old} -> {new}").format(
        old=spec.epochs, new=MIN_EPOCHS
    )


# finding kind -> (button label, the change); kinds absent here ("healthy" with early stopping,
# "early_stop", "too_early", "unreadable", "near_baseline") have nothing to change.
RULES: dict[str, tuple[str, Callable[[TrainConfig], tuple[ModelSpec, str] | None]]] = {
    "diverged": (N_("Train again with a much lower learning rate"), _lower_rate(LR_DOWN_DIVERGED)),
    "lr_too_high": (N_("Train again with a lower learning rate"), _lower_rate(LR_DOWN)),
    "lr_too_low": (N_("Train again with a higher learning rate"), _higher_rate),
    "underfitting": (N_("Train again with a higher learning rate"), _higher_rate),
    "overfitting": (N_("Train again with more regularisation"), _regularise),
    "healthy": (N_("Train again for longer"), _more_epochs),
    "one_pass": (N_("Train again for 3 epochs, to see the curves"), _enough_epochs_for_curves),
}


def remedy_for(kind: str, config: dict, early_stopped: bool = False) -> Remedy | None:
    """The config of a new run that tries the finding's advice, or None when there is nothing to try.

    Args:
        kind: a finding's kind (``core.teaching.diagnosis.Finding.kind``).
        config: the run's ``config.json``.
        early_stopped: early stopping ended the run (then more epochs would change nothing).

    Returns:
        None for a kind without a change, a config that cannot be read (an API-comparison
        way, a damaged file), a change already at its limit, or a changed config that the
        checks refuse.
    """
    if kind not in RULES or (kind == "healthy" and early_stopped):
        return None
    label, change = RULES[kind]
    try:
        cfg = TrainConfig.from_dict(config)
        if "api_compare" in config:  # a hand-written way: the Train page cannot run it
            return None
        changed = change(cfg)
        if changed is None:
            return None
        spec, text = changed
        new = dataclasses.replace(cfg, spec=spec, name="")
        validate(new)
    except (InputError, TypeError, ValueError, KeyError, AttributeError):
        return None
    return Remedy(kind, _(label), (text,), new)
