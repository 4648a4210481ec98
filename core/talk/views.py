"""A step's live view: which page of the app, in which state, and how each setting is checked.

A view is written ``@view KIND key=value ...`` in a deck. :data:`VIEWS` lists the kinds and their
settings; :func:`check_view` refuses an unknown kind, an unknown setting or a bad value (the deck
reader adds the line). What a view needs from this machine (data, a trained run) is not checked
here, only when the step is shown (:mod:`core.talk.needs`): a deck opens everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.models.presets import PRESETS
from core.teaching.filters import KERNEL_PRESETS, PADDINGS

CARD_SIZES = (32, 64, 128, 256, 512)
SAMPLES_PER_CLASS = 24  # Learn's and Predict's sample slider: the first 24 files of a class, sorted
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")  # a data folder's or a class's name
RUN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")  # a run id (never "." or "..")


@dataclass(frozen=True)
class ImageRef:
    """An image a view shows: the test card, an MNIST test digit, or a sample of a class folder.

    Written ``card`` (or ``card:64``), ``mnist#7`` (test digit 7), ``chest-orientation/lateral#3``
    (the 4th of the first 24 files of that class, sorted, as Learn's and Predict's sliders count).
    """

    kind: str  # "card", "mnist" or "folder"
    index: int = 0  # the card's size, the digit's or the sample's index
    folder: str = ""
    cls: str = ""

    def __str__(self) -> str:
        if self.kind == "card":
            return f"card:{self.index}"
        return f"mnist#{self.index}" if self.kind == "mnist" else f"{self.folder}/{self.cls}#{self.index}"


def image_ref(text: str) -> ImageRef:
    """Reads an image reference (see :class:`ImageRef`). Raises InputError with the forms it takes."""
    expected = _("Expected an image as card, card:64, mnist#7 or FOLDER/CLASS#3. Received: {value}").format(
        value=text[:80]
    )
    if text == "card":
        return ImageRef("card", 128)
    if text.startswith("card:"):
        size = _int(text[5:], expected)
        if size not in CARD_SIZES:
            raise InputError(_("Expected a test card size in {sizes}. Received: {value}").format(
                sizes=", ".join(map(str, CARD_SIZES)), value=size))  # fmt: skip
        return ImageRef("card", size)
    where, sep, index = text.rpartition("#")
    if not sep:
        raise InputError(expected)
    n = _int(index, expected)
    if where == "mnist":
        if not 0 <= n < 10_000:
            raise InputError(_("Expected an MNIST test digit in 0..9999. Received: {value}").format(value=n))
        return ImageRef("mnist", n)
    folder, slash, cls = where.partition("/")
    if not slash or not NAME_RE.match(folder) or not NAME_RE.match(cls):
        raise InputError(expected)
    if not 0 <= n < SAMPLES_PER_CLASS:
        raise InputError(_("Expected a sample in 0..{hi}. Received: {value}").format(hi=SAMPLES_PER_CLASS - 1, value=n))
    return ImageRef("folder", n, folder, cls)


def _int(text: str, message: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(message) from None


def _number(lo: float, hi: float, integer: bool = True) -> Callable[[str], float | int]:
    def read(text: str) -> float | int:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise InputError(_("Expected a number in {lo}..{hi}. Received: {value}").format(lo=lo, hi=hi,
                                                                                             value=text[:20]))  # fmt: skip
        return value

    return read


def _choice(*choices: str) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text not in choices:
            raise InputError(_("Expected one of {choices}. Received: {value}").format(choices=", ".join(choices),
                                                                                      value=text[:40]))  # fmt: skip
        return text

    return read


def _switch(text: str) -> bool:
    return _choice("on", "off")(text) == "on"


def _preset(text: str) -> str:
    return _choice(*PRESETS)(text)


def _folder(text: str) -> str:
    if text != "mnist" and not NAME_RE.match(text):
        raise InputError(_("Expected mnist or a folder's name in the data folder. Received: {value}").format(
            value=text[:80]))  # fmt: skip
    return text


def _model(text: str) -> str:
    """``shipped`` (the MNIST model that comes with the app), a preset (its newest finished run) or a run id."""
    if text == "shipped" or text in PRESETS or RUN_RE.match(text):
        return text
    raise InputError(_("Expected shipped, a preset or a run id. Received: {value}").format(value=text[:80]))


def _run(text: str) -> str:
    if not RUN_RE.match(text):
        raise InputError(_("Expected a run id. Received: {value}").format(value=text[:80]))
    return text


# kind -> (what it shows, in words; its settings: name -> (reader, default))
VIEWS: dict[str, tuple[str, dict[str, tuple[Callable[[str], object], object]]]] = {
    "slide": (N_("the step's lines only"), {}),
    "learn": (
        N_("Convolution & pooling on an image"),
        {
            "image": (image_ref, ImageRef("card", 128)),
            "kernel": (_choice(*KERNEL_PRESETS), "sobel x"),
            "stride": (_number(1, 8), 1),
            "padding": (_choice(*PADDINGS), "valid"),
            "bias": (_number(-2, 2, False), 0.0),
            "relu": (_switch, True),
            "pool": (_choice("max", "avg", "off"), "max"),
            "pool_size": (_number(1, 6), 2),
            "pool_stride": (_number(1, 6), None),
        },
    ),
    "layers": (N_("a preset's layers"), {"preset": (_preset, None), "data": (_folder, None)}),
    "train": (
        N_("a training"),
        {"preset": (_preset, None), "data": (_folder, None), "epochs": (_number(1, 1000), None)},
    ),
    "curves": (
        N_("learning curves"),
        {"preset": (_preset, None), "run": (_run, None), "metric": (_choice("accuracy", "loss"), "accuracy")},
    ),
    "predict": (
        N_("a prediction"),
        {
            "image": (image_ref, None),
            "model": (_model, "shipped"),
            "rotate": (_number(-180, 180), 0),
            "flip": (_choice("none", "horizontal", "vertical"), "none"),
            "gradcam": (_switch, True),
        },
    ),
    "hood": (N_("one network in three APIs"), {"layout": (_choice("side", "one"), "one")}),
    "wall": (N_("the room's wall"), {}),
    "challenge": (N_("the challenge's leaderboard"), {}),
}
REQUIRED = {"layers": ("preset",), "train": ("preset",), "predict": ("image",)}  # fmt: skip
ONE_OF = {"curves": ("preset", "run")}


@dataclass(frozen=True)
class View:
    """A step's live view: ``kind`` (a key of :data:`VIEWS`) and its checked settings, defaults filled."""

    kind: str
    params: dict
    line: int = 0

    def get(self, name: str):
        return self.params.get(name)


def check_view(kind: str, params: dict[str, str], line: int = 0) -> View:
    """Checks a view's kind and settings (as written) and returns them read, with defaults.

    Raises:
        InputError: an unknown kind or setting, a bad value, a required setting missing.
    """
    if kind not in VIEWS:
        raise InputError(_("Expected a view in {choices}. Received: {value}").format(choices=", ".join(VIEWS),
                                                                                     value=kind[:40]))  # fmt: skip
    known = VIEWS[kind][1]
    out: dict = {name: default for name, (_reader, default) in known.items()}
    for name, text in params.items():
        if name not in known:
            raise InputError(_("The {kind} view has no setting '{name}'; it takes {names}.").format(
                kind=kind, name=name[:40], names=", ".join(known) or _("none")))  # fmt: skip
        try:
            out[name] = known[name][0](text)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    for name in REQUIRED.get(kind, ()):
        if out.get(name) is None:
            raise InputError(_("The {kind} view needs {name}=...").format(kind=kind, name=name))
    one = ONE_OF.get(kind)
    if one and sum(out.get(n) is not None for n in one) != 1:
        raise InputError(_("The {kind} view needs exactly one of {names}.").format(kind=kind, names=", ".join(one)))
    if kind in ("layers", "train"):
        task, data = PRESETS[out["preset"]].task, out["data"]
        if task not in ("mnist", "images"):
            raise InputError(_("The {kind} view shows image models; {preset} is a table's.").format(
                kind=kind, preset=out["preset"]))  # fmt: skip
        if data is not None and (task == "mnist") != (data == "mnist"):
            raise InputError(_("{preset} trains on {task} data; data={data} does not fit it.").format(
                preset=out["preset"], task=task, data=data))  # fmt: skip
    if kind == "predict" and out["image"].kind == "card":
        raise InputError(
            _(
                "The predict view shows a model an MNIST test digit (mnist#7) or a dataset's image "
                "(FOLDER/CLASS#3), as Predict's samples do. Received: {value}"
            ).format(value=out["image"])
        )
    if kind == "learn" and out["pool_stride"] is None:
        out["pool_stride"] = out["pool_size"]  # Keras's default
    return View(kind, out, line)
