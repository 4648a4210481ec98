"""Augmentation: random, label-preserving changes to training images, one registry entry per option.

A recipe's ``augment`` is a dict such as ``{"flip": "horizontal", "zoom": 0.1}``; each key
is an entry of ``AUGMENTATIONS``, which says its range, its label for the page and the
Keras preprocessing layer it becomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.settings import Setting


@dataclass(frozen=True)
class Augmentation:
    value: Setting  # the option's range and help; its default is the strength when switched on
    build: Callable[[Any, int], Any]  # (value, seed) -> a Keras preprocessing layer


def _layers():
    from keras import layers

    return layers


def _opt(name: str, kind: type, default: Any, label: str, help: str, **kw: Any) -> Setting:
    return Setting(name=name, kind=kind, default=default, label=label, help=help, owner="augment", **kw)


AUGMENTATIONS: dict[str, Augmentation] = {
    "flip": Augmentation(
        _opt(
            "flip",
            str,
            "horizontal",
            N_("Flip"),
            N_("mirror images at random (not for digits or text)"),
            choices=("horizontal", "vertical", "horizontal_and_vertical"),
        ),
        lambda v, seed: _layers().RandomFlip(v, seed=seed),
    ),  # fmt: skip
    "rotation": Augmentation(
        _opt("rotation", float, 0.05, N_("Rotation"), N_("turn by up to this fraction of a full turn"), lo=0.0, hi=0.5),
        lambda v, seed: _layers().RandomRotation(v, fill_mode="nearest", seed=seed + 1),
    ),
    "zoom": Augmentation(
        _opt("zoom", float, 0.1, N_("Zoom"), N_("zoom in or out by up to this fraction"), lo=0.0, hi=0.9),
        lambda v, seed: _layers().RandomZoom(v, fill_mode="nearest", seed=seed + 2),
    ),
    "translation": Augmentation(
        _opt("translation", float, 0.1, N_("Shift"), N_("shift by up to this fraction of the side"), lo=0.0, hi=0.5),
        lambda v, seed: _layers().RandomTranslation(v, v, fill_mode="nearest", seed=seed + 3),
    ),
    "contrast": Augmentation(
        _opt("contrast", float, 0.2, N_("Contrast"), N_("change contrast by up to this factor"), lo=0.0, hi=1.0),
        lambda v, seed: _layers().RandomContrast(v, value_range=(0, 1), seed=seed + 4),
    ),
    "brightness": Augmentation(
        _opt(
            "brightness", float, 0.2, N_("Brightness"), N_("change brightness by up to this fraction"), lo=0.0, hi=1.0
        ),
        lambda v, seed: _layers().RandomBrightness(v, value_range=(0, 1), seed=seed + 5),
    ),
}


def check_augment(augment: Any) -> dict:
    """Checks an ``augment`` dict; returns it with values in their types (0 / empty options dropped).

    Raises:
        InputError: not an object, an unknown option or a value out of range.
    """
    if not isinstance(augment, dict):
        raise InputError(
            _("Expected augment to be an object such as {example}. Received: {value}").format(
                example="{'zoom': 0.1}", value=repr(augment)[:80])
        )  # fmt: skip
    unknown = set(augment) - set(AUGMENTATIONS)
    if unknown:
        raise InputError(
            _("Unknown augmentation option(s) {names}. Expected some of {known}.").format(
                names=sorted(map(str, unknown)), known=list(AUGMENTATIONS))
        )  # fmt: skip
    out = {}
    for name, value in augment.items():
        value = AUGMENTATIONS[name].value.check(value)
        if value:  # 0 or "" means off
            out[name] = value
    return out


def make_augmenter(augment: dict, seed: int):
    """A Keras preprocessing pipeline for the options in ``augment`` (None when there are none)."""
    augment = check_augment(augment)
    if not augment:
        return None
    import keras

    # Registry order, not dict order: the same options always give the same pipeline.
    steps = [entry.build(augment[name], seed) for name, entry in AUGMENTATIONS.items() if name in augment]
    return keras.Sequential(steps, name="augment")
