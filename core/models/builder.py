"""Build a Keras model from a spec (Functional API), and the optimizer and loss it trains with."""

from __future__ import annotations

from core.models.layers import BuildContext, kind_of
from core.models.specs import ModelSpec
from core.models.summary import CLASSIFIER, layer_name, validate_spec

ADAMW_DEFAULT_DECAY = 0.004  # Keras's own default for AdamW


def build_model(
    spec: ModelSpec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    notes: list[str] | None = None,
    pretrained_weights: bool = True,
):
    """Builds an uncompiled ``keras.Model`` from a spec with the Functional API.

    Args:
        spec: the layers and recipe.
        input_shape: (height, width, channels) of one image.
        num_classes: size of the classifier appended at the end.
        notes: optional list that receives remarks (e.g. ImageNet weights unavailable).
        pretrained_weights: try to load ImageNet weights for a Pretrained layer.

    Returns:
        ``keras.Model(keras.Input(input_shape), Dense(num_classes)(...))``; spec layer ``i``
        is named ``<kind>_<i>`` so the summary rows and Keras's layers match.

    Raises:
        InputError: see :func:`core.models.validate_spec`.
    """
    import keras
    from keras import layers

    validate_spec(spec, input_shape, num_classes)
    ctx = BuildContext(pretrained_weights=pretrained_weights)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, layer in enumerate(spec.layers, start=1):
        x = kind_of(layer, i).build(layer, layer_name(layer.kind, i), x, ctx)
    outputs = layers.Dense(num_classes, activation=spec.output_activation, name=CLASSIFIER)(x)
    if notes is not None:
        notes += ctx.notes
    return keras.Model(inputs, outputs, name=spec.name.replace(" ", "_") or "model")


def _learning_rate(spec: ModelSpec, steps_per_epoch: int, epochs: int):
    import keras

    if spec.lr_schedule == "onecycle":  # linear warm-up over 20% of the steps, then cosine decay
        total = max(1, steps_per_epoch * epochs)
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=spec.learning_rate / 25,
            decay_steps=total - total // 5,
            warmup_target=spec.learning_rate,
            warmup_steps=total // 5,
            alpha=0.01,
        )
    return spec.learning_rate


def make_optimizer(spec: ModelSpec, steps_per_epoch: int = 1, epochs: int = 1):
    """The optimizer named by the spec, with its learning rate or schedule and weight decay."""
    import keras

    lr = _learning_rate(spec, steps_per_epoch, epochs)
    decay = spec.weight_decay
    if spec.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=ADAMW_DEFAULT_DECAY if decay is None else decay)
    if spec.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=decay or None)
    # Adam and RMSprop take no weight decay here: the setting is refused for them (core.base.settings).
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[spec.optimizer](lr)


def make_loss(spec: ModelSpec):
    """The loss named by the spec, with its label smoothing."""
    import keras

    if spec.loss == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy(label_smoothing=spec.label_smoothing)
    return keras.losses.CategoricalCrossentropy(label_smoothing=spec.label_smoothing)
