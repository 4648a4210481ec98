"""A Keras model written back as Python: one line per layer, with only the settings that differ from Keras's defaults.

The lines come from the built layers themselves (``layer.get_config()`` against the defaults of the
layer's constructor), so the code rebuilds exactly the model the run trained: same layers, same
shapes, same parameter count. ``model_lines`` follows the graph, so a layer fed the same tensor three
times (a grey image made RGB for a backbone) is written ``([x, x, x])``.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from core.base.errors import InputError
from core.base.i18n import _

SKIPPED = {"name", "dtype", "trainable", "autocast", "input_dtype"}  # written apart, or Keras's own bookkeeping
TUPLE_SETTINGS = {"kernel_size", "strides", "pool_size", "dilation_rate"}  # (3, 3) is written 3
BACKBONES = {"mobilenetv2": "MobileNetV2"}  # a nested model's name prefix -> keras.applications class
CLASSES = "num_classes"  # the classifier's units are the data's classes


def _default(cls: type, key: str) -> Any:
    """The default of ``key`` in the first constructor up the class's hierarchy that names it."""
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            param = inspect.signature(klass.__init__).parameters.get(key)
            if param is not None:
                return param.default
    return inspect.Parameter.empty


def _required(cls: type) -> set[str]:
    """The constructor's arguments without a default (``filters``, ``units``)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in params if p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD}


def _is_default(key: str, value: Any, default: Any) -> bool:
    import keras

    if default is inspect.Parameter.empty:
        return False
    if isinstance(value, dict) and "class_name" in value:  # an initializer, regularizer or constraint
        for module in (keras.initializers, keras.regularizers, keras.constraints):
            try:
                if module.serialize(module.get(default)) == value:
                    return True
            except (ValueError, TypeError):
                continue
        return False
    if key == "activation" and value == "linear" and default is None:
        return True
    if key == "data_format" and value == keras.config.image_data_format() and default is None:
        return True
    if isinstance(value, list | tuple):
        if isinstance(default, list | tuple):
            return tuple(value) == tuple(default)
        return default is not None and all(v == default for v in value)
    return value == default


def py(value: Any) -> str:
    """A plain value as Python source, strings in double quotes (as the rest of the script)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are Python's: quotes, backslashes, breaks
    if isinstance(value, list | tuple):
        items = [py(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(round(value, 10))
    return repr(value)


def _literal(key: str, value: Any) -> str:
    if key in TUPLE_SETTINGS and isinstance(value, list | tuple) and len(set(value)) == 1:
        value = value[0]
    return py(value)


def layer_code(layer, classifier: str | None = None, named: bool = True) -> str:
    """``layers.Conv2D(filters=16, kernel_size=3, activation='relu', name='conv2d_1')`` for ``layer``.

    Args:
        classifier: the name of the output layer, whose ``units`` are written ``num_classes``.
        named: write the layer's name (the app's names: feature maps and Grad-CAM find layers by them).

    Raises:
        InputError: a setting that is not a plain value (a custom object) cannot be written.
    """
    cls = type(layer)
    args = []
    config = layer.get_config()
    for key, value in config.items():
        if key in SKIPPED or _default(cls, key) is inspect.Parameter.empty and key not in _required(cls):
            continue  # the base layer's bookkeeping, not a setting of this kind
        if _is_default(key, value, _default(cls, key)) or key == "strides" and value == config.get("pool_size"):
            continue  # a pooling window's stride is its size unless told
        if isinstance(value, dict):
            raise InputError(_("Layer {layer}: its setting {key} cannot be written as code.").format(
                layer=layer.name, key=key))  # fmt: skip
        args.append(f"{key}={CLASSES if key == 'units' and layer.name == classifier else _literal(key, value)}")
    return f"layers.{cls.__name__}({', '.join([*args, *([f'name={py(layer.name)}'] if named else [])])})"


def _backbone_lines(layer, x: str) -> list[str]:
    """A keras.applications backbone: made, frozen or not, and called (ImageNet weights, else random ones)."""
    family = next((cls for prefix, cls in BACKBONES.items() if layer.name.lower().startswith(prefix)), None)
    if family is None:
        raise InputError(_("Layer {layer}: a nested model that is not a known backbone cannot be written as code.").format(
            layer=layer.name))  # fmt: skip
    shape = tuple(int(d) for d in layer.inputs[0].shape[1:])
    return [
        f"backbone = pretrained_backbone(keras.applications.{family}, {shape!r})",
        f"backbone.trainable = {bool(layer.trainable)}",
        f"{x} = backbone({x}, training={None if layer.trainable else False})",
    ]


def model_lines(model, classifier: str, start: list[str] | None = None) -> list[str]:
    """The body of a build function for a one-input model: ``inputs = keras.Input(...)``, a line per layer.

    Args:
        classifier: the output layer's name (its units become ``num_classes``).
        start: lines put right after the input (augmentation layers), each taking and giving ``x``.

    Returns:
        Lines ending in ``outputs = ...``; the caller writes ``keras.Model(inputs, outputs, ...)``.
    """
    import keras

    if len(model.inputs) != 1:
        raise InputError(_("Expected a model with one input. Received: {n} inputs.").format(n=len(model.inputs)))
    first = model.inputs[0]
    shape = tuple(int(d) for d in first.shape[1:])
    lines = [f"inputs = keras.Input(shape={shape!r}, name={py(first.name)})", "x = inputs", *(start or [])]
    current = id(first)
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        node = layer._inbound_nodes[0]  # the call inside this model: (input tensors) -> output
        fed = node.input_tensors
        if any(id(t) != current for t in fed):
            raise InputError(_("Layer {layer} takes a tensor other than the one before it: only a chain of layers "
                               "can be written as code.").format(layer=layer.name))  # fmt: skip
        current = id(node.output_tensors[0])
        args = "x" if len(fed) == 1 else "[" + ", ".join("x" for _t in fed) + "]"
        if isinstance(layer, keras.Model):
            lines += _backbone_lines(layer, "x")
            continue
        target = "outputs" if layer.name == classifier else "x"
        lines.append(f"{target} = {layer_code(layer, classifier)}({args})")
    if not lines[-1].startswith("outputs"):
        lines.append("outputs = x")
    return lines
