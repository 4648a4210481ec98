"""The layer registry: one entry per layer kind, read by validation, building, the summary,
the diagram and the layer table.

Each kind declares the ``LayerSpec`` fields it reads, its output shape (from
:func:`core.models.windows.output_size`), its parameter and multiply-add counts (arithmetic: no
weights are allocated), its label, its colour and how it becomes a Keras layer. Adding a
kind is one class here plus its test.

Shapes are tuples without the batch axis: ``(H, W, C)`` for a feature map, ``(C,)`` for a
flat vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from core.base.errors import InputError
from core.base.i18n import _, number
from core.models.specs import LAYER_FIELD, LayerSpec
from core.models.windows import output_size

Shape = tuple[int, ...]
HUGE_DENSE_PARAMS = 10_000_000  # more weights than this in one Dense: warn
MAX_FLAT = 2_000_000  # a longer vector than this from Flatten: refuse


@dataclass
class BuildContext:
    """What building a layer may need besides its spec."""

    pretrained_weights: bool = True
    notes: list[str] = field(default_factory=list)  # remarks for the run log


class LayerKind:
    """Base class of a registered kind; subclasses override what differs."""

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()  # LayerSpec fields this kind reads (its table columns)
    required: ClassVar[tuple[str, ...]] = ()  # of those, the ones without a default
    needs_map: ClassVar[bool] = False  # needs a (H, W, C) feature map, not a flat vector
    color: ClassVar[str] = "#888888"
    short: ClassVar[str] = ""  # a short name for the diagram
    editable: ClassVar[bool] = True  # offered in the layer table

    def label(self, layer: LayerSpec) -> str:
        return self.name

    def output_shape(self, layer: LayerSpec, shape: Shape) -> Shape:
        return shape

    def params(self, layer: LayerSpec, shape: Shape) -> tuple[int, int]:
        """``(trainable, non_trainable)`` parameters for input ``shape``."""
        return 0, 0

    def macs(self, layer: LayerSpec, shape: Shape, out: Shape) -> int:
        """Multiply-adds of one forward pass for one example."""
        return 0

    def warnings(self, layer: LayerSpec, shape: Shape, index: int) -> list[str]:
        return []

    def build(self, layer: LayerSpec, name: str, x, ctx: BuildContext):
        """Applies the Keras layer(s) to the symbolic tensor ``x``; returns the output tensor."""
        raise NotImplementedError


KINDS: dict[str, LayerKind] = {}


def register(cls: type[LayerKind]) -> type[LayerKind]:
    KINDS[cls.name] = cls()
    return cls


def kind_of(layer: LayerSpec, index: int) -> LayerKind:
    if layer.kind not in KINDS:
        raise InputError(
            _("Layer {index}: unknown kind {kind}. Expected one of {kinds}.").format(
                index=index, kind=repr(layer.kind), kinds=tuple(KINDS))
        )  # fmt: skip
    return KINDS[layer.kind]


# What makes sense on a vector of numbers (a table row): the table task offers these (core.tasks.table).
TABLE_LAYER_KINDS = ("Dense", "Dropout", "BatchNormalization", "Activation")


def editable_kinds(only: Sequence[str] | None = None) -> list[str]:
    """Kinds offered in the layer table (the pretrained backbone comes only from its preset).

    Args:
        only: the kinds a task offers (:attr:`core.tasks.base.Task.layer_kinds`, e.g. a table's
            Dense, Dropout, BatchNormalization and Activation), in that order; None: every editable kind.
    """
    if only is not None:
        return [name for name in only if name in KINDS]
    return [name for name, k in KINDS.items() if k.editable]


def table_columns(only: Sequence[str] | None = None) -> list[str]:
    """Columns of the layer table: ``kind`` then every field an editable kind (of ``only``) reads."""
    cols: list[str] = []
    for name in editable_kinds(only):
        cols += [f for f in KINDS[name].fields if f not in cols]
    return ["kind", *cols]


def _act(layer: LayerSpec) -> str:
    return f" {layer.activation}" if layer.activation else ""


# ----- convolutions ---------------------------------------------------------------------


def _window_out(layer: LayerSpec, shape: Shape, k: int, s: int, what: str) -> Shape:
    h, w, c = shape
    oh, ow = output_size(h, k, s, layer.padding), output_size(w, k, s, layer.padding)
    if oh < 1 or ow < 1:
        raise InputError(
            _("{what} gets a {h}x{w} feature map, smaller than its {k}x{k} window: the output would be "
              "empty. Use padding 'same', a smaller window, fewer pooling layers or a larger input.").format(
                what=what, h=h, w=w, k=k)
        )  # fmt: skip
    return oh, ow, c


@register
class Conv2D(LayerKind):
    name = "Conv2D"
    fields = ("filters", "kernel_size", "strides", "padding", "activation", "use_bias")
    required = ("filters", "kernel_size")
    needs_map = True
    color = "#1f5fd6"
    short = "Conv"

    def label(self, layer):
        k, s = layer.kernel_size, layer.strides or 1
        return f"{self.name} {layer.filters} {k}x{k}" + (f" /{s}" if s > 1 else "") + f" {layer.padding}" + _act(layer)

    def output_shape(self, layer, shape):
        oh, ow, _channels = _window_out(layer, shape, layer.kernel_size, layer.strides or 1, self.label(layer))
        return oh, ow, layer.filters

    def params(self, layer, shape):
        k = layer.kernel_size
        return k * k * shape[-1] * layer.filters + (layer.filters if layer.use_bias else 0), 0

    def macs(self, layer, shape, out):
        return out[0] * out[1] * out[2] * layer.kernel_size**2 * shape[-1]

    def build(self, layer, name, x, ctx):
        from keras import layers

        return layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides or 1, padding=layer.padding,
                             activation=layer.activation, use_bias=layer.use_bias, name=name)(x)  # fmt: skip


@register
class SeparableConv2D(Conv2D):
    """A depthwise k x k convolution per channel, then a 1x1 convolution that mixes channels."""

    name = "SeparableConv2D"
    color = "#5b8def"
    short = "SepConv"

    def params(self, layer, shape):
        cin, k = shape[-1], layer.kernel_size
        return k * k * cin + cin * layer.filters + (layer.filters if layer.use_bias else 0), 0

    def macs(self, layer, shape, out):
        cin = shape[-1]
        return out[0] * out[1] * cin * (layer.kernel_size**2 + layer.filters)

    def build(self, layer, name, x, ctx):
        from keras import layers

        return layers.SeparableConv2D(layer.filters, layer.kernel_size, strides=layer.strides or 1,
                                      padding=layer.padding, activation=layer.activation, use_bias=layer.use_bias,
                                      name=name)(x)  # fmt: skip


# ----- pooling ---------------------------------------------------------------------------


class _Pooling(LayerKind):
    fields = ("pool_size", "strides", "padding")
    needs_map = True
    color = "#2ca02c"
    keras_name: ClassVar[str]

    def label(self, layer):
        p = layer.pool_size or 2
        return f"{self.name} {p}x{p}" + (f" /{layer.strides}" if layer.strides and layer.strides != p else "")

    def output_shape(self, layer, shape):
        p = layer.pool_size or 2
        return _window_out(layer, shape, p, layer.strides or p, self.label(layer))

    def build(self, layer, name, x, ctx):
        from keras import layers

        cls = getattr(layers, self.name)
        return cls(layer.pool_size or 2, strides=layer.strides, padding=layer.padding, name=name)(x)


@register
class MaxPooling2D(_Pooling):
    name = "MaxPooling2D"
    short = "MaxPool"


@register
class AveragePooling2D(_Pooling):
    name = "AveragePooling2D"
    short = "AvgPool"


class _GlobalPooling(LayerKind):
    needs_map = True
    color = "#9467bd"

    def output_shape(self, layer, shape):
        return (shape[-1],)

    def build(self, layer, name, x, ctx):
        from keras import layers

        return getattr(layers, self.name)(name=name)(x)


@register
class GlobalAveragePooling2D(_GlobalPooling):
    name = "GlobalAveragePooling2D"
    short = "GAP"


@register
class GlobalMaxPooling2D(_GlobalPooling):
    name = "GlobalMaxPooling2D"
    short = "GMP"


@register
class Flatten(LayerKind):
    name = "Flatten"
    color = "#9467bd"

    def output_shape(self, layer, shape):
        n = math.prod(shape)
        if n > MAX_FLAT:
            raise InputError(
                _("Flatten would make a vector of {n} values (at most {limit}); pool more first.").format(
                    n=number(n), limit=number(MAX_FLAT))
            )  # fmt: skip
        return (n,)

    def build(self, layer, name, x, ctx):
        from keras import layers

        return layers.Flatten(name=name)(x)


# ----- per-value layers ------------------------------------------------------------------


@register
class Dropout(LayerKind):
    name = "Dropout"
    fields = ("rate",)
    required = ("rate",)
    color = "#bbbbbb"

    def label(self, layer):
        return f"Dropout {layer.rate:g}"

    def build(self, layer, name, x, ctx):
        from keras import layers

        return layers.Dropout(layer.rate, name=name)(x)


@register
class BatchNormalization(LayerKind):
    name = "BatchNormalization"
    color = "#ff7f0e"
    short = "BatchNorm"

    def params(self, layer, shape):
        return 2 * shape[-1], 2 * shape[-1]  # gamma, beta; moving mean and variance

    def build(self, layer, name, x, ctx):
        from keras import layers

        # momentum 0.9: short runs (a few hundred steps) need moving statistics that keep up.
        return layers.BatchNormalization(momentum=0.9, name=name)(x)


@register
class Activation(LayerKind):
    name = "Activation"
    fields = ("activation",)
    required = ("activation",)
    color = "#f2c14e"
    short = "Act"

    def label(self, layer):
        return f"Activation {layer.activation}"

    def build(self, layer, name, x, ctx):
        from keras import layers

        return layers.Activation(layer.activation, name=name)(x)


@register
class Dense(LayerKind):
    name = "Dense"
    fields = ("units", "activation", "use_bias")
    required = ("units",)
    color = "#d62728"

    def label(self, layer):
        return f"Dense {layer.units}" + _act(layer)

    def output_shape(self, layer, shape):
        return (*shape[:-1], layer.units)

    def params(self, layer, shape):
        return shape[-1] * layer.units + (layer.units if layer.use_bias else 0), 0

    def macs(self, layer, shape, out):
        return math.prod(shape) * layer.units

    def warnings(self, layer, shape, index):
        if len(shape) == 3:
            h, w, c = shape
            return [
                _(
                    "Layer {index} ({label}) is applied to a {h}x{w}x{c} feature map: Keras applies Dense to each "
                    "pixel separately (like a 1x1 convolution). Add Flatten or GlobalAveragePooling2D before it to "
                    "look at the whole image."
                ).format(index=index, label=self.label(layer), h=h, w=w, c=c)
            ]
        if shape[-1] * layer.units > HUGE_DENSE_PARAMS:
            return [
                _(
                    "Layer {index} ({label}) has {weights} weights ({inputs} inputs): slow to train and easy to "
                    "overfit. Pool more before Flatten or use GlobalAveragePooling2D."
                ).format(
                    index=index,
                    label=self.label(layer),
                    weights=number(shape[-1] * layer.units),
                    inputs=number(shape[-1]),
                )
            ]
        return []

    def build(self, layer, name, x, ctx):
        from keras import layers

        return layers.Dense(layer.units, activation=layer.activation, use_bias=layer.use_bias, name=name)(x)


def check_fields(layer: LayerSpec, kind: LayerKind, index: int) -> None:
    """Every field the kind reads has a value of the right type and range.

    Raises:
        InputError: "Layer 2 (Conv2D): Expected kernel_size in 1..15. Received: kernel_size=40".
    """
    for name in kind.fields:
        value = getattr(layer, name)
        if value is None and name in kind.required:
            raise InputError(
                _("Layer {index} ({kind}): {name} is required ({help}).").format(
                    index=index, kind=kind.name, name=name, help=_(LAYER_FIELD[name].help))
            )  # fmt: skip
        try:
            LAYER_FIELD[name].check(value)
        except InputError as exc:
            raise InputError(
                _("Layer {index} ({kind}): {problem}").format(index=index, kind=kind.name, problem=exc)
            ) from None
