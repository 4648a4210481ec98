"""Validate a spec and summarise it (shapes, parameters, multiply-adds) by arithmetic alone.

Nothing here allocates weights, so the web server can summarise any model the form allows,
however large, and say how big it is before anyone tries to build it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.base.errors import InputError
from core.base.i18n import _
from core.models.layers import KINDS, Shape, check_fields, kind_of
from core.models.specs import ModelSpec

CLASSIFIER = "predictions"


@dataclass
class LayerSummary:
    """One row of a model summary."""

    index: int  # 1-based position in the spec; the classifier is len(layers) + 1
    name: str  # the Keras layer name build_model gives it
    kind: str
    label: str
    output_shape: tuple
    params: int
    trainable_params: int
    macs: int


@dataclass
class ModelSummary:
    layers: list[LayerSummary]
    total_params: int
    trainable_params: int
    total_macs: int
    warnings: list[str]
    input_shape: tuple = ()


def layer_name(kind: str, index: int) -> str:
    """The Keras name of spec layer ``index`` (1-based): ``conv2d_1``, ``dense_3``..."""
    return f"{kind.lower()}_{index}"


def _check_recipe(spec: ModelSpec, num_classes: int) -> list[str]:
    if num_classes < 2:
        raise InputError(_("Expected at least 2 classes. Received: {n}").format(n=num_classes))
    if not spec.layers:
        raise InputError(_("The model has no layers: add at least a Flatten (or GlobalAveragePooling2D) layer."))
    if spec.output_activation == "softmax" and spec.loss == "binary_crossentropy":
        return [_("softmax output with binary cross-entropy: categorical cross-entropy is the usual pair.")]
    return []


def summarize_spec(spec: ModelSpec, input_shape: Shape, num_classes: int, head: str = CLASSIFIER) -> ModelSummary:
    """Checks ``spec`` against an input and counts what it costs, layer by layer.

    Args:
        spec: the layers (the classifier ``Dense(num_classes)`` is added here, as in building).
        input_shape: ``(H, W, C)`` of one image, or ``(D,)`` of one row.
        num_classes: classifier size.
        head: the output layer's name. Any other than the classifier's is a table's head: it may
            have one unit (a regression), and the model may have no layers (a linear model).

    Returns:
        Rows with output shape, parameters and multiply-adds per example, totals and warnings.

    Raises:
        InputError: a bad field, a feature map shrinking below 1x1, a spatial layer after the
            tensor was flattened, or no flattening before the classifier.
    """
    warnings = _check_recipe(spec, num_classes) if head == CLASSIFIER else []
    shape: Shape = tuple(int(d) for d in input_shape)
    rows = []
    for i, layer in enumerate(spec.layers, start=1):
        kind = kind_of(layer, i)
        check_fields(layer, kind, i)
        if kind.needs_map and len(shape) != 3:
            raise InputError(
                _("Layer {index} ({label}) needs a 4-D feature map (batch, height, width, channels), but an earlier "
                  "Flatten/global pooling already made the tensor flat. Move it before them.").format(
                    index=i, label=kind.label(layer))
            )  # fmt: skip
        try:
            out = kind.output_shape(layer, shape)
        except InputError as exc:
            raise InputError(_("Layer {index}: {problem}").format(index=i, problem=exc)) from None
        warnings += kind.warnings(layer, shape, i)
        trainable, frozen = kind.params(layer, shape)
        rows.append(LayerSummary(i, layer_name(layer.kind, i), kind.name, kind.label(layer), out,
                                 trainable + frozen, trainable, kind.macs(layer, shape, out)))  # fmt: skip
        if len(out) == 3 and min(out[:2]) == 1 and len(shape) == 3 and min(shape[:2]) > 1:
            warnings.append(
                _("After layer {index} ({label}) the feature map is down to {h}x{w}.").format(
                    index=i, label=kind.label(layer), h=out[0], w=out[1])
            )  # fmt: skip
        shape = out
    if len(shape) != 1:
        raise InputError(
            _("The classifier needs a flat vector, but the last layer outputs a {shape} feature map. Add Flatten "
              "or GlobalAveragePooling2D before the output.").format(shape="x".join(map(str, shape)))
        )  # fmt: skip
    dense = KINDS["Dense"]
    n = shape[0] * num_classes + num_classes
    rows.append(LayerSummary(len(spec.layers) + 1, head, dense.name, f"Dense {num_classes} {spec.output_activation}",
                             (num_classes,), n, n, shape[0] * num_classes))  # fmt: skip
    return ModelSummary(
        rows,
        sum(r.params for r in rows),
        sum(r.trainable_params for r in rows),
        sum(r.macs for r in rows),
        warnings,
        tuple(input_shape),
    )


def validate_spec(spec: ModelSpec, input_shape: Shape, num_classes: int) -> list[str]:
    """Checks a spec against an input shape before Keras sees it; returns warnings.

    Raises:
        InputError: see :func:`summarize_spec`.
    """
    return summarize_spec(spec, input_shape, num_classes).warnings
