"""What a model sees and why it decided: feature maps and Grad-CAM.

Both work on Functional models (every preset, and any ``.keras`` file reloaded from a
run) by building a sub-model from ``model.inputs`` to inner layer outputs. Logic only:
arrays in, arrays out (plots.py draws them), as in the keras-io Grad-CAM example.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from core.access.limits import take_for
from core.base.errors import InputError
from core.base.i18n import _

# Sub-models are cached per model and layers (building one takes ~50 ms); a model that
# is garbage-collected takes its sub-models with it.
_SUBMODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def spatial_layers(model) -> list[str]:
    """Names of layers whose output is a 4-D feature map (batch, H, W, C), input excluded.

    A nested backbone (transfer preset) counts as one layer: its output is a feature map.
    """
    names = []
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4:
            names.append(layer.name)
    return names


def conv_layers(model) -> list[str]:
    """Layers worth showing as feature maps: convolutions (and nested backbones)."""
    keep = []
    for name in spatial_layers(model):
        kind = model.get_layer(name).__class__.__name__
        if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Functional", "Model"):
            keep.append(name)
    return keep or spatial_layers(model)


def _outer_output(layer):
    """The layer's output in the outer model's graph.

    For a nested model (a pretrained backbone) ``layer.output`` is the output of its own
    inner graph, which is not connected to the outer inputs; the node where the outer
    model called it is.
    """
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes:
        return nodes[-1].output_tensors[0]
    return layer.output


def _submodel(model, names: tuple[str, ...], with_output: bool):
    import keras

    key = names + (("__out__",) if with_output else ())
    with _LOCK:
        cache = _SUBMODELS.setdefault(model, {})
        sub = cache.get(key)
        if sub is None:
            outputs = [_outer_output(model.get_layer(n)) for n in names]
            if with_output:
                outputs.append(model.output)
            inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # called with one tensor
            try:
                sub = keras.Model(inputs, outputs)
            except ValueError as exc:
                raise InputError(
                    _("Cannot read the layers {layers} of this model: {problem}").format(
                        layers=list(names), problem=exc
                    )
                ) from exc
            cache[key] = sub
    return sub


def _check_input(model, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    expected = tuple(model.inputs[0].shape[1:])
    if x.ndim != 4 or tuple(x.shape[1:]) != expected:
        raise InputError(
            _("Expected an input of shape {expected}. Received: {shape}").format(
                expected=expected, shape=tuple(x.shape[1:])
            )
        )
    return x


def feature_maps(model, x: np.ndarray, layers: list[str] | None = None, actor=None) -> dict[str, np.ndarray]:
    """Activations of ``layers`` (default :func:`conv_layers`) for one image.

    Args:
        x: ``(S, S, C)`` or ``(1, S, S, C)``, preprocessed as for prediction.
        actor: a web visitor (``core.access.roles.Actor``), charged one "heavy" action; None: no limit.

    Returns:
        ``{layer name: (H, W, channels)}`` float32.
    """
    take_for("heavy", actor)
    x = _check_input(model, x)
    names = tuple(layers or conv_layers(model))
    unknown = [n for n in names if n not in spatial_layers(model)]
    if unknown:
        raise InputError(
            _("Not feature-map layers of this model: {unknown}. Choose from {layers}.").format(
                unknown=unknown, layers=spatial_layers(model)
            )
        )
    if not names:
        return {}
    outs = _submodel(model, names, with_output=False)(x, training=False)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return {n: np.asarray(o)[0] for n, o in zip(names, outs)}


def gradcam(
    model, x: np.ndarray, layer: str | None = None, class_index: int | None = None, actor=None
) -> tuple[np.ndarray, int]:
    """Grad-CAM heatmap of one image (Selvaraju et al. 2017, as in the keras-io example).

    The gradient of the class score with respect to a feature map, averaged over space,
    weights each channel; their weighted sum, through ReLU, shows where the evidence for
    the class lies.

    Args:
        x: ``(S, S, C)`` or ``(1, S, S, C)``.
        layer: a feature-map layer (default: the last one, the usual choice).
        class_index: the class to explain (default: the predicted one).
        actor: a web visitor (``core.access.roles.Actor``), charged one "heavy" action; None: no limit.

    Returns:
        ``(heatmap (h, w) in [0, 1] at the layer's resolution, class index)``. All zeros
        when no location supports the class.
    """
    import tensorflow as tf

    take_for("heavy", actor)
    x = _check_input(model, x)
    candidates = spatial_layers(model)
    if not candidates:
        raise InputError(_("This model has no convolutional feature maps (e.g. an MLP): Grad-CAM needs one."))
    layer = layer or candidates[-1]
    if layer not in candidates:
        raise InputError(
            _("Expected a feature-map layer in {layers}. Received: {layer}").format(
                layers=candidates, layer=repr(layer)
            )
        )
    sub = _submodel(model, (layer,), with_output=True)
    with tf.GradientTape() as tape:
        fmap, preds = sub(tf.convert_to_tensor(x), training=False)
        idx = int(tf.argmax(preds[0])) if class_index is None else int(class_index)
        if not 0 <= idx < preds.shape[-1]:
            raise InputError(
                _("Expected a class index in 0..{last}. Received: {index}").format(last=preds.shape[-1] - 1, index=idx)
            )
        score = preds[:, idx]
    grads = tape.gradient(score, fmap)  # (1, h, w, c)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))  # (c,)
    cam = tf.nn.relu(tf.reduce_sum(fmap[0] * weights, axis=-1)).numpy()  # (h, w)
    peak = float(cam.max())
    return (cam / peak if peak > 0 else np.zeros_like(cam)).astype(np.float32), idx


def upsample(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes a heatmap to ``(H, W)`` with bilinear interpolation, values kept in [0, 1]."""
    from PIL import Image

    img = Image.fromarray(np.asarray(heat, dtype=np.float32), "F").resize((size[1], size[0]), Image.BILINEAR)
    return np.clip(np.asarray(img, dtype=np.float32), 0, 1)
