"""Model specifications, presets and the Functional-API builder.

A :class:`ModelSpec` is plain data (JSON-friendly) so that the UI can edit it as a table
and a run can store it in ``config.json``. :func:`build_model` turns it into a
``keras.Model`` built with ``keras.Input`` so feature maps and Grad-CAM sub-models work.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from core.errors import InputError

LAYER_KINDS = (
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "Dropout",
    "BatchNormalization",
    "Activation",
    "Flatten",
    "GlobalAveragePooling2D",
    "Dense",
    "Pretrained",
)
ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "elu", "gelu", "swish", "linear")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LOSSES = ("categorical_crossentropy", "binary_crossentropy")
BACKBONES = ("MobileNetV2",)
HUGE_DENSE_PARAMS = 10_000_000


@dataclass
class LayerSpec:
    """One layer. Only the fields that matter for ``kind`` are used.

    kind: one of ``LAYER_KINDS``.
    filters, kernel_size, strides, padding, activation: Conv2D.
    pool_size, strides, padding: pooling (strides default to pool_size).
    rate: Dropout. units, activation: Dense. activation: Activation.
    backbone, trainable: Pretrained (an ImageNet backbone, used without its top).
    """

    kind: str
    filters: int | None = None
    kernel_size: int | None = None
    strides: int | None = None
    padding: str = "valid"
    activation: str | None = None
    pool_size: int | None = None
    rate: float | None = None
    units: int | None = None
    use_bias: bool = True
    backbone: str | None = None
    trainable: bool = False

    def label(self) -> str:
        """A short human name, e.g. ``Conv2D 32 3x3 same relu``."""
        k = self.kind
        if k == "Conv2D":
            s = f"Conv2D {self.filters} {self.kernel_size}x{self.kernel_size}"
            s += f" /{self.strides}" if (self.strides or 1) > 1 else ""
            return s + f" {self.padding}" + (f" {self.activation}" if self.activation else "")
        if k in ("MaxPooling2D", "AveragePooling2D"):
            return f"{k} {self.pool_size or 2}x{self.pool_size or 2}"
        if k == "Dropout":
            return f"Dropout {self.rate}"
        if k == "Dense":
            return f"Dense {self.units}" + (f" {self.activation}" if self.activation else "")
        if k == "Activation":
            return f"Activation {self.activation}"
        if k == "Pretrained":
            return f"{self.backbone} ({'trainable' if self.trainable else 'frozen'})"
        return k


@dataclass
class ModelSpec:
    """A whole recipe: layers (without the classifier) plus how to train them.

    The classifier ``Dense(num_classes, output_activation)`` is appended by
    :func:`build_model`, so one spec fits any number of classes.
    """

    name: str
    layers: list[LayerSpec]
    description: str = ""
    task: str = "any"  # "mnist", "images" or "any": which data the preset was made for
    output_activation: str = "softmax"
    loss: str = "categorical_crossentropy"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"  # "constant" or "onecycle" (linear warm-up, cosine decay)
    batch_size: int = 64
    epochs: int = 10
    patience: int = 5
    min_delta: float = 0.001
    validation_fraction: float = 0.15
    image_size: int = 128
    color_mode: str = "grayscale"
    augment: dict = field(default_factory=dict)
    source: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelSpec:
        """Rebuilds a spec from ``to_dict`` output (e.g. a run's config.json)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"Unknown model spec fields: {sorted(unknown)}")
        if not isinstance(data.get("layers"), list):
            raise InputError("A model spec needs a 'layers' list.")
        layer_fields = {f.name for f in fields(LayerSpec)}
        layers = []
        for i, layer in enumerate(data["layers"]):
            if not isinstance(layer, dict) or set(layer) - layer_fields or "kind" not in layer:
                raise InputError(f"Layer {i + 1} is not a valid layer spec: {layer!r}")
            layers.append(LayerSpec(**layer))
        return cls(**{**data, "layers": layers})


TABLE_COLUMNS = ("kind", "filters", "kernel_size", "strides", "padding", "activation", "pool_size", "rate", "units")
_INT_COLUMNS = ("filters", "kernel_size", "strides", "pool_size", "units")


def layers_to_rows(layers: list[LayerSpec]) -> list[dict]:
    """Layers as rows of the editable table (``TABLE_COLUMNS``)."""
    return [{c: getattr(layer, c) for c in TABLE_COLUMNS} for layer in layers]


def layers_from_rows(rows: list[dict]) -> list[LayerSpec]:
    """Reads the editable layer table back; blank cells (None, NaN, "") mean "not set".

    Rows without a kind (a blank row added in the editor) are skipped. Shapes and ranges
    are checked later by :func:`validate_spec`.

    Raises:
        InputError: an unknown layer kind, a non-whole number where one is needed, or no layers.
    """
    layers = []
    for i, row in enumerate(rows):
        clean = {k: (None if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else v)
                 for k, v in row.items() if k in TABLE_COLUMNS}  # fmt: skip
        if not clean.get("kind"):
            continue
        if clean["kind"] not in LAYER_KINDS or clean["kind"] == "Pretrained":
            raise InputError(f"Layer {i + 1}: expected a kind in {list(LAYER_KINDS[:-1])}. Received: {clean['kind']!r}")
        for key in _INT_COLUMNS:
            value = clean.get(key)
            if value is not None:
                try:
                    whole = float(value) == int(float(value))
                except (TypeError, ValueError):
                    whole = False
                if not whole:
                    raise InputError(f"Layer {i + 1}: {key} must be a whole number. Received: {value!r}")
                clean[key] = int(float(value))
        if clean.get("rate") is not None:
            clean["rate"] = float(clean["rate"])
        clean["padding"] = clean.get("padding") or "valid"
        layers.append(LayerSpec(**clean))
    if not layers:
        raise InputError("The model has no layers: add at least a Flatten and a Dense layer.")
    return layers


# ------------------------------------------------------------------------- validation


@dataclass
class LayerSummary:
    """One row of a model summary."""

    index: int
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int


@dataclass
class ModelSummary:
    layers: list[LayerSummary]
    total_params: int
    trainable_params: int
    total_macs: int
    warnings: list[str]


def _check_range(i: int, layer: LayerSpec, name: str, value, lo, hi) -> None:
    if value is None or not (lo <= value <= hi):
        raise InputError(f"Layer {i} ({layer.kind}): expected {name} in {lo}..{hi}. Received: {name}={value!r}")


def _out_size(n: int, k: int, s: int, padding: str) -> int:
    # TF's rule: "valid" -> ceil((n - k + 1) / s); "same" -> ceil(n / s)
    return math.ceil(n / s) if padding == "same" else math.ceil((n - k + 1) / s)


def validate_spec(spec: ModelSpec, input_shape: tuple[int, int, int], num_classes: int) -> list[str]:
    """Checks a spec against an input shape before Keras sees it.

    Returns:
        Warnings (things that work but are probably not what was meant).

    Raises:
        InputError: a bad setting, a feature map shrinking below 1x1, a convolution
            after the tensor was flattened, or no flattening before the classifier.
    """
    warnings: list[str] = []
    if num_classes < 2:
        raise InputError(f"Expected at least 2 classes. Received: {num_classes}")
    if spec.output_activation not in ("softmax", "sigmoid"):
        raise InputError(f"Expected output_activation softmax or sigmoid. Received: {spec.output_activation!r}")
    if spec.loss not in LOSSES:
        raise InputError(f"Expected loss in {LOSSES}. Received: {spec.loss!r}")
    if spec.optimizer not in OPTIMIZERS:
        raise InputError(f"Expected optimizer in {OPTIMIZERS}. Received: {spec.optimizer!r}")
    h, w, c = input_shape
    rank = 4
    for i, layer in enumerate(spec.layers, start=1):
        k = layer.kind
        if k not in LAYER_KINDS:
            raise InputError(f"Layer {i}: unknown kind {k!r}. Expected one of {LAYER_KINDS}.")
        if layer.activation is not None and layer.activation not in ACTIVATIONS:
            raise InputError(f"Layer {i} ({k}): expected activation in {ACTIVATIONS}. Received: {layer.activation!r}")
        if layer.padding not in ("valid", "same"):
            raise InputError(f"Layer {i} ({k}): expected padding 'valid' or 'same'. Received: {layer.padding!r}")
        if k in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Pretrained") and rank != 4:
            raise InputError(
                f"Layer {i} ({k}) needs a 4-D feature map (batch, height, width, channels), but an "
                "earlier Flatten/GlobalAveragePooling2D already made the tensor flat. Move it before them."
            )
        if k == "Conv2D":
            _check_range(i, layer, "filters", layer.filters, 1, 4096)
            _check_range(i, layer, "kernel_size", layer.kernel_size, 1, 15)
            s = layer.strides or 1
            _check_range(i, layer, "strides", s, 1, 8)
            nh, nw = (
                _out_size(h, layer.kernel_size, s, layer.padding),
                _out_size(w, layer.kernel_size, s, layer.padding),
            )
            if nh < 1 or nw < 1:
                raise InputError(
                    f"Layer {i} ({layer.label()}) gets a {h}x{w} feature map, smaller than its "
                    f"{layer.kernel_size}x{layer.kernel_size} kernel: the output would be empty. Use padding "
                    "'same', a smaller kernel, fewer pooling layers or a larger input."
                )
            h, w, c = nh, nw, layer.filters
        elif k in ("MaxPooling2D", "AveragePooling2D"):
            p = layer.pool_size or 2
            _check_range(i, layer, "pool_size", p, 1, 8)
            s = layer.strides or p
            _check_range(i, layer, "strides", s, 1, 8)
            nh, nw = _out_size(h, p, s, layer.padding), _out_size(w, p, s, layer.padding)
            if nh < 1 or nw < 1:
                raise InputError(
                    f"Layer {i} ({layer.label()}) would shrink the {h}x{w} feature map below 1x1. "
                    "Remove a pooling layer, use padding 'same' or a larger input."
                )
            h, w = nh, nw
        elif k == "Dropout":
            if layer.rate is None or not (0.0 <= layer.rate < 1.0):
                raise InputError(f"Layer {i} (Dropout): expected rate in [0, 1). Received: rate={layer.rate!r}")
        elif k == "Activation":
            if layer.activation is None:
                raise InputError(f"Layer {i} (Activation): an activation is required.")
        elif k == "Flatten":
            if rank == 4:
                if h * w * c > 2_000_000:
                    raise InputError(
                        f"Layer {i} (Flatten) would make a vector of {h * w * c:,} values; pool more first."
                    )
                h, w, c, rank = 1, 1, h * w * c, 2
        elif k == "GlobalAveragePooling2D":
            h, w, rank = 1, 1, 2
        elif k == "Dense":
            _check_range(i, layer, "units", layer.units, 1, 65536)
            if rank == 4:
                warnings.append(
                    f"Layer {i} ({layer.label()}) is applied to a {h}x{w}x{c} feature map: Keras "
                    "applies Dense to each pixel separately (like a 1x1 convolution). Add Flatten or "
                    "GlobalAveragePooling2D before it to look at the whole image."
                )
            elif c * layer.units > HUGE_DENSE_PARAMS:
                warnings.append(
                    f"Layer {i} ({layer.label()}) has {c * layer.units:,} weights ({c:,} inputs): "
                    "slow to train and easy to overfit. Pool more before Flatten or use "
                    "GlobalAveragePooling2D."
                )
            c = layer.units
        elif k == "Pretrained":
            if layer.backbone not in BACKBONES:
                raise InputError(f"Layer {i}: expected backbone in {BACKBONES}. Received: {layer.backbone!r}")
            if min(h, w) < 32:
                raise InputError(f"Layer {i} ({layer.backbone}) needs an input of at least 32x32. Received: {h}x{w}")
            h, w, c = math.ceil(h / 32), math.ceil(w / 32), 1280
        if rank == 4 and min(h, w) == 1 and k in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            warnings.append(f"After layer {i} ({layer.label()}) the feature map is down to {h}x{w}.")
    if rank == 4:
        raise InputError(
            f"The classifier needs a flat vector, but the last layer outputs a {h}x{w}x{c} feature "
            "map. Add Flatten or GlobalAveragePooling2D before the output."
        )
    if spec.output_activation == "softmax" and spec.loss == "binary_crossentropy":
        warnings.append("softmax output with binary cross-entropy: categorical cross-entropy is the usual pair.")
    return warnings


# --------------------------------------------------------------------------- building


def _make_optimizer_schedule(spec: ModelSpec, steps_per_epoch: int, epochs: int):
    import keras

    if spec.lr_schedule == "onecycle":
        total = max(1, steps_per_epoch * epochs)
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=spec.learning_rate / 25,
            decay_steps=total - total // 5,
            warmup_target=spec.learning_rate,
            warmup_steps=total // 5,
            alpha=0.01,
        )
    if spec.lr_schedule != "constant":
        raise InputError(f"Expected lr_schedule 'constant' or 'onecycle'. Received: {spec.lr_schedule!r}")
    return spec.learning_rate


def make_optimizer(spec: ModelSpec, steps_per_epoch: int = 1, epochs: int = 1):
    """The optimizer named by the spec, with its learning rate or schedule."""
    import keras

    lr = _make_optimizer_schedule(spec, steps_per_epoch, epochs)
    return {
        "adam": lambda: keras.optimizers.Adam(lr),
        "adamw": lambda: keras.optimizers.AdamW(lr),
        "sgd": lambda: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: keras.optimizers.RMSprop(lr),
    }[spec.optimizer]()


def _pretrained(layer: LayerSpec, x, notes: list[str], load_weights: bool):
    import keras
    from keras import layers

    if x.shape[-1] == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    x = layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)  # MobileNetV2 expects [-1, 1]
    shape = tuple(int(d) for d in x.shape[1:])
    try:
        if not load_weights:
            raise RuntimeError("not requested")
        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", input_shape=shape)
        notes.append("MobileNetV2 starts from ImageNet weights.")
    except Exception as exc:  # offline, or a non-standard size Keras has no weights for
        base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=shape)
        notes.append(
            f"ImageNet weights for MobileNetV2 could not be loaded ({type(exc).__name__}: "
            f"{str(exc)[:120]}); it starts from random weights instead. To use them offline, put "
            "the weights file in ~/.keras/models/."
        )
    base.trainable = layer.trainable
    return base(x, training=False if not layer.trainable else None)


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
        ``keras.Model(keras.Input(input_shape), Dense(num_classes)(...))``.

    Raises:
        InputError: see :func:`validate_spec`.
    """
    import keras
    from keras import layers

    validate_spec(spec, input_shape, num_classes)
    notes = notes if notes is not None else []
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, ls in enumerate(spec.layers, start=1):
        name = f"{ls.kind.lower()}_{i}"
        k = ls.kind
        if k == "Conv2D":
            x = layers.Conv2D(
                ls.filters,
                ls.kernel_size,
                strides=ls.strides or 1,
                padding=ls.padding,
                activation=ls.activation,
                use_bias=ls.use_bias,
                name=name,
            )(x)
        elif k == "MaxPooling2D":
            x = layers.MaxPooling2D(ls.pool_size or 2, strides=ls.strides, padding=ls.padding, name=name)(x)
        elif k == "AveragePooling2D":
            x = layers.AveragePooling2D(ls.pool_size or 2, strides=ls.strides, padding=ls.padding, name=name)(x)
        elif k == "Dropout":
            x = layers.Dropout(ls.rate, name=name)(x)
        elif k == "BatchNormalization":
            # momentum 0.9: short runs (a few hundred steps) need moving statistics that keep up.
            x = layers.BatchNormalization(momentum=0.9, name=name)(x)
        elif k == "Activation":
            x = layers.Activation(ls.activation, name=name)(x)
        elif k == "Flatten":
            x = layers.Flatten(name=name)(x)
        elif k == "GlobalAveragePooling2D":
            x = layers.GlobalAveragePooling2D(name=name)(x)
        elif k == "Dense":
            x = layers.Dense(ls.units, activation=ls.activation, use_bias=ls.use_bias, name=name)(x)
        elif k == "Pretrained":
            x = _pretrained(ls, x, notes, pretrained_weights)
    outputs = layers.Dense(num_classes, activation=spec.output_activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name=spec.name.replace(" ", "_") or "model")


def _layer_macs(layer) -> int:
    """Multiply-adds of one forward pass for one image."""
    from keras import layers

    if isinstance(layer, layers.Conv2D):
        out = layer.output.shape  # (None, H', W', C_out)
        kh, kw = layer.kernel_size
        cin = layer.input.shape[-1]
        return int(out[1] * out[2] * out[3] * kh * kw * cin // (layer.groups or 1))
    if isinstance(layer, layers.DepthwiseConv2D):
        out = layer.output.shape
        kh, kw = layer.kernel_size
        return int(out[1] * out[2] * out[3] * kh * kw)
    if isinstance(layer, layers.Dense):
        out = layer.output.shape
        lead = math.prod(int(d) for d in out[1:-1]) if len(out) > 2 else 1
        return int(lead * layer.input.shape[-1] * out[-1])
    if hasattr(layer, "layers"):  # a nested model (pretrained backbone)
        return sum(_layer_macs(sub) for sub in layer.layers)
    return 0


def summarize(model, warnings: list[str] | None = None) -> ModelSummary:
    """Per-layer output shape, parameters and multiply-adds of a built model."""
    rows = []
    for i, layer in enumerate(model.layers):
        if layer.__class__.__name__ == "InputLayer":
            continue
        shape = tuple(layer.output.shape[1:])
        rows.append(
            LayerSummary(i, layer.name, layer.__class__.__name__, shape, int(layer.count_params()), _layer_macs(layer))
        )
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    return ModelSummary(rows, int(model.count_params()), trainable, sum(r.macs for r in rows), list(warnings or []))


def describe(spec: ModelSpec, input_shape: tuple[int, int, int], num_classes: int) -> ModelSummary:
    """Validates, builds and summarizes a spec in one call (for the UI and the CLI)."""
    warnings = validate_spec(spec, input_shape, num_classes)
    notes: list[str] = []
    model = build_model(spec, input_shape, num_classes, notes, pretrained_weights=False)  # shapes only: no download
    return summarize(model, warnings + notes)


# ----------------------------------------------------------------------------- presets


def _conv(filters, k, padding="valid", activation="relu", strides=None, use_bias=True):
    return LayerSpec(
        "Conv2D",
        filters=filters,
        kernel_size=k,
        padding=padding,
        activation=activation,
        strides=strides,
        use_bias=use_bias,
    )


def _pool(size=2, kind="MaxPooling2D"):
    return LayerSpec(kind, pool_size=size)


def _bn_relu():
    return [LayerSpec("BatchNormalization"), LayerSpec("Activation", activation="relu")]


PRESETS: dict[str, ModelSpec] = {
    "mnist-tutorial": ModelSpec(
        name="mnist-tutorial",
        description="CE229 MNIST CNN: Conv32 5x5 -> pool -> Conv64 5x5 -> pool -> Dense 1024 -> Dropout 0.2 (3.27 M params).",
        task="mnist",
        layers=[
            _conv(32, 5, "same"),
            _pool(),
            _conv(64, 5, "same"),
            _pool(),
            LayerSpec("Flatten"),
            LayerSpec("Dense", units=1024, activation="relu"),
            LayerSpec("Dropout", rate=0.2),
        ],
        learning_rate=0.001,
        batch_size=128,
        epochs=3,
        patience=5,
        validation_fraction=0.1,
        image_size=28,
        source="CE229 MNIST tutorial",
    ),
    "mnist-mlp": ModelSpec(
        name="mnist-mlp",
        description="The dense 'hello world': Flatten -> Dense 16 -> Dense 16 -> Dense 10 (13,002 params).",
        task="mnist",
        layers=[
            LayerSpec("Flatten"),
            LayerSpec("Dense", units=16, activation="relu"),
            LayerSpec("Dense", units=16, activation="relu"),
        ],
        learning_rate=0.001,
        batch_size=32,
        epochs=5,
        patience=3,
        validation_fraction=0.1,
        image_size=28,
        source="3Blue1Brown-style MLP, Keras 'hello world'",
    ),
    "keras-convnet": ModelSpec(
        name="keras-convnet",
        description="Keras example 'Simple MNIST convnet': Conv32 -> pool -> Conv64 -> pool -> Dropout 0.5 (34,826 params).",
        task="mnist",
        layers=[
            _conv(32, 3),
            _pool(),
            _conv(64, 3),
            _pool(),
            LayerSpec("Flatten"),
            LayerSpec("Dropout", rate=0.5),
        ],
        learning_rate=0.001,
        batch_size=128,
        epochs=15,
        patience=5,
        validation_fraction=0.1,
        image_size=28,
        source="keras-io examples/vision/mnist_convnet.py",
    ),
    "mnist-fast": ModelSpec(
        name="mnist-fast",
        description="CNN Lab's fast MNIST recipe: Conv32 -> pool -> Conv64 -> pool -> Dense 128, one-cycle Adam, 2 epochs (>= 99% in ~20 s on 2 CPU cores).",
        task="mnist",
        layers=[
            _conv(32, 3),
            _pool(),
            _conv(64, 3),
            _pool(),
            LayerSpec("Flatten"),
            LayerSpec("Dropout", rate=0.2),
            LayerSpec("Dense", units=128, activation="relu"),
        ],
        # Why these: BatchNorm doubled the step time on CPU for no gain in 2 epochs; a
        # one-cycle schedule (warm-up to 3e-3, cosine decay) converges in 2 passes.
        learning_rate=3e-3,
        lr_schedule="onecycle",
        batch_size=64,
        epochs=2,
        patience=3,
        validation_fraction=5000 / 60000,
        image_size=28,
        source="CNN Lab",
    ),
    "orientation-tutorial": ModelSpec(
        name="orientation-tutorial",
        description="QCon chest X-ray orientation CNN: Conv64 k2 -> pool -> Dropout -> Conv128 k2 -> pool -> Dropout -> Dense 256 -> Dense 2 sigmoid (~130 M params at 256x256).",
        task="images",
        layers=[
            _conv(64, 2),
            _pool(),
            LayerSpec("Dropout", rate=0.3),
            _conv(128, 2),
            _pool(),
            LayerSpec("Dropout", rate=0.3),
            LayerSpec("Flatten"),
            LayerSpec("Dense", units=256, activation="relu"),
        ],
        output_activation="sigmoid",
        loss="binary_crossentropy",
        learning_rate=0.001,
        batch_size=50,
        epochs=50,
        patience=5,
        min_delta=0.001,
        validation_fraction=0.30,
        image_size=256,
        color_mode="grayscale",
        source="QCon chest X-ray orientation tutorial",
    ),
    "orientation-fast": ModelSpec(
        name="orientation-fast",
        description="CNN Lab's chest X-ray orientation recipe: 4 BN conv blocks + global pooling at 128x128, flip/zoom/contrast augmentation.",
        task="images",
        layers=[
            _conv(16, 3, "same", None, strides=2, use_bias=False),
            *_bn_relu(),
            _conv(32, 3, "same", None, use_bias=False),
            *_bn_relu(),
            _pool(),
            _conv(64, 3, "same", None, use_bias=False),
            *_bn_relu(),
            _pool(),
            _conv(64, 3, "same", None, use_bias=False),
            *_bn_relu(),
            LayerSpec("GlobalAveragePooling2D"),
            LayerSpec("Dropout", rate=0.3),
        ],
        # Label-preserving for frontal vs lateral: a mirrored film is still frontal or lateral;
        # exposure differs a lot between machines (brightness/contrast); framing varies (zoom,
        # shift). Not vertical flips or big rotations: films are not taken upside down.
        learning_rate=3e-3,
        lr_schedule="onecycle",
        batch_size=32,
        epochs=16,
        patience=6,
        validation_fraction=0.15,
        image_size=128,
        color_mode="grayscale",
        augment={"flip": "horizontal", "zoom": 0.1, "translation": 0.05, "contrast": 0.3, "brightness": 0.2},
        source="CNN Lab",
    ),
    "transfer-mobilenetv2": ModelSpec(
        name="transfer-mobilenetv2",
        description="Transfer learning: a frozen MobileNetV2 (ImageNet weights when they can be had) + a new classifier.",
        task="images",
        layers=[
            LayerSpec("Pretrained", backbone="MobileNetV2", trainable=False),
            LayerSpec("GlobalAveragePooling2D"),
            LayerSpec("Dropout", rate=0.2),
        ],
        learning_rate=1e-3,
        batch_size=32,
        epochs=10,
        patience=3,
        validation_fraction=0.15,
        image_size=128,
        color_mode="rgb",
        augment={"flip": "horizontal", "zoom": 0.1},
        source="keras-io transfer learning guide",
    ),
}


def get_preset(name: str) -> ModelSpec:
    """Returns a fresh copy of a preset (safe to edit).

    Raises:
        InputError: unknown preset name.
    """
    if name not in PRESETS:
        raise InputError(f"Unknown preset {name!r}. Expected one of: {', '.join(PRESETS)}")
    spec = PRESETS[name]
    return replace(spec, layers=[replace(layer) for layer in spec.layers], augment=dict(spec.augment))


def preset_input_shape(spec: ModelSpec, image_size: int | None = None) -> tuple[int, int, int]:
    """(H, W, C) a preset expects for its task (MNIST is 28x28x1)."""
    size = image_size or spec.image_size
    return (size, size, 1 if spec.color_mode == "grayscale" else 3)
