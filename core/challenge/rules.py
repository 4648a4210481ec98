"""A challenge's rules: what entries train on, what each may cost, and the layers a thumb can pick.

An entry is a short list of layers from :data:`PICKER` (a few choices each) plus its epochs; the
rest of the recipe is the challenge's, the same for everyone (:func:`entry_config`). Its cost is
counted by arithmetic (``core.models.summarize_spec``, as the layer table does) before it queues.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.base.errors import InputError
from core.base.i18n import N_, _, number
from core.models import LayerSpec, ModelSpec, ModelSummary, summarize_spec
from core.training.config import TrainConfig

DATA_KINDS = ("mnist", "room", "folder")  # MNIST, the room's own labelled digits, a dataset of the data folder
BUDGETS = ("compute", "seconds")  # parameters and multiply-adds x epochs, or seconds of training
METRICS = ("val_accuracy", "test_accuracy")  # best validation accuracy (live) or test accuracy (at the end)
MAX_LAYERS = 8  # layers a participant picks (the automatic Flatten not counted)
MAX_NAME = 30  # characters of an entry's name

# The layer picker: each kind with its few choices (the first is the default). Convolutions keep the
# size ("same") so any order a thumb makes stays valid down to the pooling that halves it.
PICKER: dict[str, dict[str, tuple]] = {
    "Conv2D": {"filters": (8, 4, 16, 32, 64), "kernel_size": (3, 5)},
    "MaxPooling2D": {"pool_size": (2,)},
    "AveragePooling2D": {"pool_size": (2,)},
    "Dense": {"units": (32, 16, 64, 128)},
    "Dropout": {"rate": (0.25, 0.5)},
}
PICKER_WORDS = {
    "Conv2D": N_("Convolution"),
    "MaxPooling2D": N_("Max pooling"),
    "AveragePooling2D": N_("Average pooling"),
    "Dense": N_("Dense"),
    "Dropout": N_("Dropout"),
}


@dataclass
class ChallengeSettings:
    """What the presenter chose; stored as the challenge's ``challenge.json``."""

    data: str = "mnist"  # DATA_KINDS
    folder: str | None = None  # the dataset folder for data="folder"; MNIST's file, found at opening, for "mnist"
    budget: str = "compute"  # BUDGETS
    max_params: int = 50_000
    max_macs: int = 5_000_000  # multiply-adds per image x epochs
    max_epochs: int = 3
    seconds: int = 60  # budget "seconds": each entry trains this long
    metric: str = "val_accuracy"  # METRICS
    minutes: float = 10.0  # from opening to the deadline
    image_size: int = 28  # a folder's images are resized to this square, grayscale
    batch_size: int = 64
    cpus: int = 1  # each entry's CPUs on a Ray cluster
    gpus: float = 0.0  # each entry's GPUs on a Ray cluster
    cluster_cpus: float = 0.0  # the Ray cluster's CPUs when the challenge opened (0: the local engine)
    title: str = ""
    opened: float = field(default_factory=time.time)
    deadline: float = 0.0  # seconds since the epoch; set at opening from ``minutes``
    ended: float | None = None  # when the presenter ended it, or the last entry after the deadline finished
    winner: str | None = None  # the winning entry's id, once ended
    engine: str = "local"  # where entries train ("local" or "ray"), fixed at opening
    class_names: list[str] = field(default_factory=list)  # what entries learn, read from the data at opening

    def check(self) -> None:
        """Raises InputError naming the first bad setting."""
        if self.data not in DATA_KINDS:
            raise InputError(_("Expected data in {choices}. Received: {value}").format(choices=DATA_KINDS,
                                                                                    value=repr(self.data)))  # fmt: skip
        if self.budget not in BUDGETS:
            raise InputError(_("Expected budget in {choices}. Received: {value}").format(choices=BUDGETS,
                                                                                      value=repr(self.budget)))  # fmt: skip
        if self.metric not in METRICS:
            raise InputError(_("Expected metric in {choices}. Received: {value}").format(choices=METRICS,
                                                                                      value=repr(self.metric)))  # fmt: skip
        limits = {"max_params": (100, 10_000_000), "max_macs": (10_000, 10**12), "max_epochs": (1, 50),
                  "seconds": (5, 3600), "minutes": (1, 240), "image_size": (8, 128), "batch_size": (8, 1024),
                  "cpus": (1, 64), "gpus": (0, 8)}  # fmt: skip
        for name, (lo, hi) in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise InputError(
                    _("Expected {name} between {lo} and {hi}. Received: {value}").format(
                        name=name, lo=number(lo), hi=number(hi), value=repr(value))
                )  # fmt: skip
        if self.data == "folder" and not (isinstance(self.folder, str) and self.folder):
            raise InputError(_("Choose the dataset folder the entries train on."))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ChallengeSettings:
        """Reads ``challenge.json``; unknown keys are ignored, bad values refused.

        Raises:
            InputError: not an object, or a setting out of range.
        """
        if not isinstance(data, dict):
            raise InputError(_("This challenge's settings are damaged."))
        known = {f.name for f in fields(cls)}
        try:
            settings = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise InputError(_("This challenge's settings are damaged.")) from exc
        settings.check()
        return settings

    def epochs_allowed(self) -> int:
        """The most epochs an entry may ask for (a seconds budget trains up to its seconds, at most 50 epochs)."""
        return self.max_epochs if self.budget == "compute" else 50

    def drivers(self) -> int:
        """Entries handed to a Ray cluster at once: as many as it trains together, plus one waiting its turn there
        (more would only be processes on the app's machine, competing for its cores)."""
        return max(1, int(self.cluster_cpus // max(self.cpus, 1))) + 1

    def resources(self) -> dict:
        """An entry's ``job.resources``: its CPUs and GPUs, and on a Ray cluster the :meth:`drivers` limit."""
        return {"cpus": self.cpus, "gpus": self.gpus, **({"drivers": self.drivers()} if self.engine == "ray" else {})}

    def open_for_entries(self, now: float | None = None) -> bool:
        return self.ended is None and (time.time() if now is None else now) < self.deadline


def picked_layer(kind: str, **choices: Any) -> LayerSpec:
    """One layer of the picker, its choices checked against :data:`PICKER`.

    Raises:
        InputError: a kind or a value the picker does not offer.
    """
    if kind not in PICKER:
        raise InputError(_("Expected a layer among {kinds}. Received: {value}").format(kinds=list(PICKER),
                                                                                    value=repr(kind)))  # fmt: skip
    values = {}
    for name, offered in PICKER[kind].items():
        value = choices.get(name, offered[0])
        if type(value) is not type(offered[0]) or value not in offered:  # 8.0 or True is not a choice of 8 or 1
            raise InputError(
                _("Expected {name} among {choices}. Received: {value}").format(name=name, choices=list(offered),
                                                                              value=repr(value))
            )  # fmt: skip
        values[name] = value
    if kind == "Conv2D":
        return LayerSpec("Conv2D", padding="same", activation="relu", **values)
    if kind == "Dense":
        return LayerSpec("Dense", activation="relu", **values)
    return LayerSpec(kind, **values)


def layers_from_dicts(items: Any) -> list[LayerSpec]:
    """A participant's layers (``[{"kind": ..., <choice>: ...}]``, as stored and as a page sends them).

    Raises:
        InputError: not a list, too many layers, or a layer the picker does not offer.
    """
    if not isinstance(items, list):
        raise InputError(_("Expected a list of layers."))
    if len(items) > MAX_LAYERS:
        raise InputError(_("At most {n} layers.").format(n=MAX_LAYERS))
    out = []
    for item in items:
        kind = item.get("kind") if isinstance(item, dict) else None
        if not isinstance(kind, str) or not set(item) <= {"kind", *PICKER.get(kind, {})}:
            raise InputError(_("Expected a layer among {kinds}. Received: {value}").format(kinds=list(PICKER),
                                                                                        value=repr(item)[:80]))  # fmt: skip
        out.append(picked_layer(kind, **{k: v for k, v in item.items() if k != "kind"}))
    return out


def to_dicts(layers: list[LayerSpec]) -> list[dict]:
    """The inverse of :func:`layers_from_dicts`: only the picker's choices of each layer."""
    return [{"kind": layer.kind, **{name: getattr(layer, name) for name in PICKER[layer.kind]}} for layer in layers]


def complete_layers(layers: list[LayerSpec]) -> list[LayerSpec]:
    """The participant's layers with the Flatten a classifier needs, before the first Dense (or at the end).

    Thumbs pick what a network *does*; flattening the map is bookkeeping the picker does for them.
    """
    out: list[LayerSpec] = []
    flat = False
    for layer in layers:
        if layer.kind == "Dense" and not flat:
            out.append(LayerSpec("Flatten"))
            flat = True
        if flat and layer.kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            raise InputError(
                _("A {layer} cannot come after a Dense layer: move it up.").format(layer=_(PICKER_WORDS[layer.kind]))
            )
        out.append(layer)
    return out if flat else [*out, LayerSpec("Flatten")]


@dataclass(frozen=True)
class Cost:
    """What an entry costs against the budget."""

    params: int
    macs: int  # multiply-adds per image
    epochs: int
    summary: ModelSummary

    @property
    def mac_epochs(self) -> int:
        return self.macs * self.epochs


def entry_spec(settings: ChallengeSettings, layers: list[LayerSpec], epochs: int) -> ModelSpec:
    """The whole recipe of an entry: its layers, its epochs, and the challenge's recipe for the rest."""
    return ModelSpec(
        name="entry", layers=complete_layers(layers), task="mnist" if settings.data == "mnist" else "images",
        epochs=epochs, batch_size=settings.batch_size, image_size=28 if settings.data == "mnist" else settings.image_size,
        color_mode="grayscale", patience=max(epochs, 1), validation_fraction=0.15,
    )  # fmt: skip


def cost(settings: ChallengeSettings, layers: list[LayerSpec], epochs: int, classes: int) -> Cost:
    """Parameters and multiply-adds of an entry by arithmetic (nothing built).

    Raises:
        InputError: the layers do not make a valid network for the challenge's images.
    """
    spec = entry_spec(settings, layers, epochs)
    summary = summarize_spec(spec, spec.input_shape(), classes)
    return Cost(summary.total_params, summary.total_macs, epochs, summary)


def check_budget(settings: ChallengeSettings, c: Cost) -> None:
    """Refuses an entry over the challenge's budget, saying by how much.

    Raises:
        InputError: too many parameters, multiply-adds x epochs, or epochs.
    """
    if not 1 <= c.epochs <= settings.epochs_allowed():
        raise InputError(_("Expected 1 to {n} epochs. Received: {value}").format(n=settings.epochs_allowed(),
                                                                               value=c.epochs))  # fmt: skip
    if settings.budget != "compute":
        return
    if c.params > settings.max_params:
        raise InputError(
            _("Over the budget: {params} parameters, at most {limit}. Use fewer filters or units.").format(
                params=number(c.params), limit=number(settings.max_params))
        )  # fmt: skip
    if c.mac_epochs > settings.max_macs:
        raise InputError(
            _("Over the budget: {macs} multiply-adds x {epochs} epochs = {total}, at most {limit}. Pool earlier, "
              "use fewer filters or fewer epochs.").format(macs=number(c.macs), epochs=c.epochs,
                                                           total=number(c.mac_epochs), limit=number(settings.max_macs))
        )  # fmt: skip


def entry_config(settings: ChallengeSettings, data: str | None, layers: list[LayerSpec], epochs: int,
                 name: str) -> TrainConfig:  # fmt: skip
    """The run of an entry: ``data`` is the dataset path (None: MNIST from the data folder)."""
    return TrainConfig(
        task="mnist" if settings.data == "mnist" else "images", data=data, spec=entry_spec(settings, layers, epochs),
        preset="custom", name=f"challenge-{name}"[:60],
        max_seconds=float(settings.seconds) if settings.budget == "seconds" else None,
    )  # fmt: skip


MARKUP = set("*_`[]()<>#|~$\\{}:^=")  # what markdown, HTML or Streamlit's :color[...] would read in a name


def clean_name(name: Any) -> str:
    """An entry's name as shown on the Wall: printable, one line, at most :data:`MAX_NAME` characters, with no
    markup character (a name is the audience's text on the projector: ``![](http://...)`` must not become an
    image, nor ``:red[...]`` a colour); each becomes a space.

    Raises:
        InputError: empty once cleaned.
    """
    spaced = "".join(" " if ch.isspace() or ch in MARKUP else ch for ch in str(name or "")[: MAX_NAME * 8])
    text = " ".join("".join(ch for ch in spaced if ch.isprintable()).split())[:MAX_NAME]
    if not text:
        raise InputError(_("Give your network a name."))
    return text
