"""LayerSpec and ModelSpec: a model and its training recipe as plain, JSON-friendly data.

The UI edits a spec as a table, a run stores it in ``config.json``, and
:func:`core.models.build_model` turns it into a Keras model. Every field that a
person can set is declared with :func:`core.base.settings.setting`, so its range, help text,
command-line flag and page widget come from that one declaration.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.settings import Setting, setting, settings_of

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "elu", "gelu", "swish", "linear")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LOSSES = ("categorical_crossentropy", "binary_crossentropy")
SCHEDULES = ("constant", "onecycle")
BACKBONES = ("MobileNetV2",)
TASK_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")  # a task's name (the registry, core.tasks, knows which exist)
MAX_TEXT = 2_000  # characters of a name or description kept in a spec


@dataclass
class LayerSpec:
    """One layer. Only the fields its kind declares (``core.models.layers``) are used."""

    kind: str
    filters: int | None = setting(
        int, None, N_("Filters"), N_("kernels, i.e. output channels"), lo=1, hi=4096, optional=True
    )
    kernel_size: int | None = setting(int, None, N_("Kernel"), N_("kernel side (k x k)"), lo=1, hi=15, optional=True)
    strides: int | None = setting(int, None, N_("Stride"), N_("step between windows"), lo=1, hi=8, optional=True)
    padding: str = setting(
        str, "valid", N_("Padding"), N_("'same' keeps the size (at stride 1)"), choices=("valid", "same")
    )
    activation: str | None = setting(
        str, None, N_("Activation"), N_("non-linearity"), choices=ACTIVATIONS, optional=True
    )
    pool_size: int | None = setting(int, None, N_("Pool"), N_("pooling window side"), lo=1, hi=8, optional=True)
    rate: float | None = setting(
        float, None, N_("Rate"), N_("fraction of values dropped"), lo=0.0, hi=0.95, optional=True
    )
    units: int | None = setting(int, None, N_("Units"), N_("neurons"), lo=1, hi=65536, optional=True)
    use_bias: bool = setting(bool, True, N_("Bias"), N_("add a learned bias"))
    backbone: str | None = setting(
        str, None, N_("Backbone"), N_("pretrained network"), choices=BACKBONES, optional=True
    )
    trainable: bool = setting(bool, False, N_("Trainable"), N_("fine-tune the backbone's weights too"))

    @classmethod
    def from_dict(cls, data: Any, index: int = 1) -> LayerSpec:
        """A layer from JSON; every field's type is checked here, shapes later.

        Raises:
            InputError: not an object, an unknown field, or a value of the wrong type.
        """
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise InputError(
                _("Layer {index}: expected an object with a 'kind'. Received: {value}").format(
                    index=index, value=_short(data)
                )
            )
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(
                _("Layer {index} ({kind}): unknown field(s) {fields}.").format(
                    index=index, kind=data["kind"], fields=sorted(unknown)
                )
            )
        values = {"kind": data["kind"]}
        for s in LAYER_FIELDS:
            if s.name in data:
                try:
                    values[s.name] = s.check(data[s.name])
                except InputError as exc:
                    raise InputError(
                        _("Layer {index} ({kind}): {problem}").format(index=index, kind=data["kind"], problem=exc)
                    ) from None
        return cls(**values)


LAYER_FIELDS: tuple[Setting, ...] = settings_of(LayerSpec, "layer")
LAYER_FIELD = {s.name: s for s in LAYER_FIELDS}


@dataclass
class ModelSpec:
    """A whole recipe: layers (without the classifier) plus how to train them.

    The classifier ``Dense(num_classes, output_activation)`` is appended by
    :func:`core.models.build_model`, so one spec fits any number of classes.
    """

    name: str
    layers: list[LayerSpec]
    description: str = ""
    task: str = "any"  # "mnist", "images" or "any": which data the recipe was made for
    source: str = ""
    augment: dict = field(default_factory=dict)  # see core.training.augment
    epochs: int = setting(
        int, 10, N_("Epochs"), N_("passes over the training data (early stopping may end sooner)"), lo=1, hi=1000
    )
    batch_size: int = setting(int, 64, N_("Batch size"), N_("images per training step"), lo=1, hi=4096)
    optimizer: str = setting(str, "adam", N_("Optimizer"), N_("how the weights are updated"), choices=OPTIMIZERS)
    learning_rate: float = setting(float, 1e-3, N_("Learning rate"), N_("size of each update step"), lo=1e-7, hi=10.0)
    lr_schedule: str = setting(
        str, "constant", N_("Schedule"), N_("'onecycle': warm up to the rate, then cosine decay"), choices=SCHEDULES
    )
    weight_decay: float | None = setting(float, None, N_("Weight decay"), N_("shrinks weights every step (empty: AdamW's default 0.004, none for SGD)"),
        lo=0.0, hi=1.0, optional=True, only_with=("optimizer", ("adamw", "sgd")),
    )  # fmt: skip
    label_smoothing: float = setting(
        float, 0.0, N_("Label smoothing"), N_("trains towards 1-e instead of 1: less over-confident"), lo=0.0, hi=0.5
    )
    patience: int = setting(
        int, 5, N_("Early-stopping patience"), N_("epochs without val-loss improvement"), lo=0, hi=1000
    )
    min_delta: float = setting(
        float, 0.001, N_("Min improvement"), N_("smallest val-loss drop that counts"), lo=0.0, hi=10.0
    )
    validation_fraction: float = setting(
        float, 0.15, N_("Validation fraction"), N_("training data held out to watch overfitting"), lo=0.01, hi=0.9
    )
    image_size: int = setting(int, 128, N_("Image size"), N_("images are resized to this square"), lo=8, hi=1024, tasks=("images",),
        steps=(32, 48, 64, 96, 128, 160, 192, 224, 256),
    )  # fmt: skip
    color_mode: str = setting(
        str, "grayscale", N_("Colour"), N_("channels the model sees"), choices=("grayscale", "rgb"), tasks=("images",)
    )
    output_activation: str = setting(
        str,
        "softmax",
        N_("Output"),
        N_("activation of the classifier"),
        choices=("softmax", "sigmoid"),
        group="advanced",
    )
    loss: str = setting(str, "categorical_crossentropy", N_("Loss"), N_("what training minimises"), choices=LOSSES,
                        group="advanced")  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)

    def input_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of one input image (MNIST runs are set to 28x28 grayscale)."""
        return self.image_size, self.image_size, 1 if self.color_mode == "grayscale" else 3

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        """Rebuilds a spec from ``to_dict`` output (a run's config.json, a ``--spec`` file).

        Every field's type and range is checked; layer shapes are checked by
        :func:`core.models.validate_spec`.

        Raises:
            InputError: not an object, unknown fields, or a value of the wrong type or range.
        """
        if not isinstance(data, dict):
            raise InputError(_("Expected a model spec object. Received: {value}").format(value=_short(data)))
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(_("Unknown model spec fields: {fields}").format(fields=sorted(unknown)))
        if not isinstance(data.get("layers"), list):
            raise InputError(_("A model spec needs a 'layers' list."))
        values: dict[str, Any] = {"layers": [LayerSpec.from_dict(x, i) for i, x in enumerate(data["layers"], 1)]}
        for key in ("name", "description", "source", "task"):
            value = data.get(key, "custom" if key == "name" else "")
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise InputError(
                    _("Expected {key} to be text of at most {limit} characters. Received: {value}").format(
                        key=key, limit=MAX_TEXT, value=_short(value)
                    )
                )
            values[key] = value
        if values["task"] and not TASK_NAME.fullmatch(values["task"]):
            raise InputError(
                _("Expected task to be a task's name, such as any, mnist, images or table. Received: task={value}").format(
                    value=repr(values["task"]))
            )  # fmt: skip
        values["task"] = values["task"] or "any"
        augment = data.get("augment", {})
        if not isinstance(augment, dict):
            raise InputError(
                _("Expected augment to be an object of options. Received: {value}").format(value=_short(augment))
            )
        values["augment"] = dict(augment)
        for s in SPEC_SETTINGS:
            if s.name in data:
                values[s.name] = s.check(data[s.name])
        return cls(**values)


SPEC_SETTINGS: tuple[Setting, ...] = settings_of(ModelSpec, "spec")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + _("... ({count} characters)").format(count=f"{len(text):,}")
