"""The pretrained backbone layer kind: MobileNetV2 from ImageNet, frozen or fine-tuned.

Its parameters and multiply-adds are worked out from the network's block table, so the
summary stays arithmetic (a test checks the numbers against the Keras model).
"""

from __future__ import annotations

import math
from typing import ClassVar

from core.base.errors import InputError
from core.base.i18n import _
from core.models.layers import BuildContext, LayerKind, register


@register
class Pretrained(LayerKind):
    """An ImageNet backbone without its top (MobileNetV2), frozen or fine-tuned."""

    name = "Pretrained"
    fields = ("backbone", "trainable")
    required = ("backbone",)
    needs_map = True
    color = "#17becf"
    editable = False
    MIN_SIDE: ClassVar[int] = 32

    def label(self, layer):
        state = _("trainable") if layer.trainable else _("frozen")  # outside the f-string: extraction sees it
        return f"{layer.backbone} ({state})"

    def output_shape(self, layer, shape):
        h, w, _channels = shape
        if min(h, w) < self.MIN_SIDE:
            raise InputError(
                _("{backbone} needs an input of at least {side}x{side}. Received: {h}x{w}").format(
                    backbone=layer.backbone, side=self.MIN_SIDE, h=h, w=w)
            )  # fmt: skip
        return math.ceil(h / 32), math.ceil(w / 32), 1280

    def params(self, layer, shape):
        trainable, frozen, _macs = mobilenet_v2_counts(shape[0], shape[1])
        return (trainable, frozen) if layer.trainable else (0, trainable + frozen)

    def macs(self, layer, shape, out):
        return mobilenet_v2_counts(shape[0], shape[1])[2]

    def build(self, layer, name, x, ctx):
        from keras import layers

        if x.shape[-1] == 1:
            x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
        x = layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)  # MobileNetV2 expects [-1, 1]
        base = _mobilenet(tuple(int(d) for d in x.shape[1:]), ctx)
        base.trainable = layer.trainable
        return base(x, training=False if not layer.trainable else None)


def _mobilenet(shape: tuple[int, int, int], ctx: BuildContext):
    import keras

    try:
        if not ctx.pretrained_weights:
            raise RuntimeError("not requested")
        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", input_shape=shape)
        ctx.notes.append("MobileNetV2 starts from ImageNet weights.")
    except Exception as exc:  # offline, or a size Keras has no weights for
        base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=shape)
        if ctx.pretrained_weights:
            ctx.notes.append(
                f"ImageNet weights for MobileNetV2 could not be loaded ({type(exc).__name__}: {str(exc)[:120]}); "
                "it starts from random weights instead. To use them offline, put the weights file in "
                "~/.keras/models/."
            )
    return base


# MobileNetV2 (alpha 1.0): inverted-residual blocks (expansion t, channels c, repeats n, stride s),
# as in Sandler et al. 2018 and keras.applications.MobileNetV2.
MOBILENET_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                    (6, 320, 1, 1))  # fmt: skip


def mobilenet_v2_counts(h: int, w: int) -> tuple[int, int, int]:
    """``(trainable, non_trainable, macs)`` of MobileNetV2 without its top at ``h x w`` x 3.

    Arithmetic from the block table (a test checks it against the Keras model): every
    stride-2 step gives ``ceil(n / 2)``; each BatchNormalization has 2 trainable and 2
    moving values per channel; multiply-adds count the convolutions.
    """
    h, w, cin = math.ceil(h / 2), math.ceil(w / 2), 32
    weights, bn, macs = 27 * 32, 32, h * w * 32 * 27  # Conv1: 3x3x3 -> 32, stride 2
    for t, c, n, s in MOBILENET_BLOCKS:
        for i in range(n):
            mid = cin * t
            if t != 1:  # 1x1 expansion
                weights, bn, macs = weights + cin * mid, bn + mid, macs + h * w * cin * mid
            if i == 0:
                h, w = math.ceil(h / s), math.ceil(w / s)
            weights, bn, macs = weights + 9 * mid, bn + mid, macs + h * w * mid * 9  # 3x3 depthwise
            weights, bn, macs = weights + mid * c, bn + c, macs + h * w * mid * c  # 1x1 projection
            cin = c
    weights, bn, macs = weights + cin * 1280, bn + 1280, macs + h * w * cin * 1280  # Conv_1: 1x1 -> 1280
    return weights + 2 * bn, 2 * bn, macs
