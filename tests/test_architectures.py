import numpy as np
import pytest

from core.base.errors import InputError
from core.models import (
    KINDS,
    PRESETS,
    LayerSpec,
    ModelSpec,
    build_model,
    get_preset,
    summarize_spec,
    validate_spec,
)


@pytest.mark.parametrize(
    "name, shape, classes, expected",
    [
        # Counts as the tutorials print them in model.summary().
        ("mnist-tutorial", (28, 28, 1), 10, 3_274_634),
        ("keras-convnet", (28, 28, 1), 10, 34_826),
        ("mnist-mlp", (28, 28, 1), 10, 13_002),
        # 64x64: 320 + 32,896 + (15*15*128)*256+256 + 514
        ("orientation-tutorial", (64, 64, 1), 2, 7_406_786),
    ],
)
def test_tutorial_parameter_counts(name, shape, classes, expected):
    model = build_model(get_preset(name), shape, classes)
    assert model.count_params() == expected


def test_orientation_tutorial_is_130m_at_256():
    # Conv64 k2: 320; Conv128 k2: 32,896; Dense 256 on 63*63*128: 130,056,448; Dense 2: 514.
    spec = get_preset("orientation-tutorial")
    summary = summarize_spec(spec, (256, 256, 1), 2)
    assert summary.total_params == 130_090_178
    assert any("weights" in w for w in summary.warnings)  # the huge Dense is flagged


def test_every_preset_builds_and_predicts():
    for name, spec in PRESETS.items():
        if spec.task == "table":  # built from a table's columns: tests/test_tables_model.py, test_tables_train.py
            continue
        shape = (28, 28, 1) if spec.task == "mnist" else (64, 64, 1 if spec.color_mode == "grayscale" else 3)
        model = build_model(get_preset(name), shape, 3, pretrained_weights=False)
        out = model.predict(np.zeros((2, *shape), np.float32), verbose=0)
        assert out.shape == (2, 3), name


def test_summary_macs_match_hand_computation():
    spec = ModelSpec(
        "t",
        [
            LayerSpec("Conv2D", filters=4, kernel_size=3, activation="relu"),
            LayerSpec("MaxPooling2D", pool_size=2),
            LayerSpec("Flatten"),
        ],
    )
    s = summarize_spec(spec, (10, 10, 2), 3)
    conv, pool, flat, dense = s.layers
    assert conv.output_shape == (8, 8, 4) and conv.macs == 8 * 8 * 4 * 3 * 3 * 2
    assert conv.params == 3 * 3 * 2 * 4 + 4
    assert pool.output_shape == (4, 4, 4) and flat.output_shape == (64,)
    assert dense.macs == 64 * 3 and s.total_macs == conv.macs + dense.macs


def test_validation_errors_are_clear():
    flat = [LayerSpec("Flatten")]
    with pytest.raises(
        InputError, match="Layer 5: MaxPooling2D 2x2 gets a 1x1 feature map, smaller than its 2x2 window"
    ):
        validate_spec(ModelSpec("t", [LayerSpec("MaxPooling2D", pool_size=2)] * 6 + flat), (28, 28, 1), 10)
    with pytest.raises(InputError, match="smaller than its 5x5 window"):
        validate_spec(ModelSpec("t", [LayerSpec("Conv2D", filters=2, kernel_size=5)] + flat), (3, 3, 1), 2)
    with pytest.raises(InputError, match="already made the tensor flat"):
        validate_spec(ModelSpec("t", flat + [LayerSpec("Conv2D", filters=2, kernel_size=3)]), (8, 8, 1), 2)
    with pytest.raises(InputError, match="Add Flatten or GlobalAveragePooling2D"):
        validate_spec(ModelSpec("t", [LayerSpec("Conv2D", filters=2, kernel_size=3)]), (8, 8, 1), 2)
    with pytest.raises(InputError, match=r"kernel_size in 1..15. Received: kernel_size=40"):
        validate_spec(ModelSpec("t", [LayerSpec("Conv2D", filters=2, kernel_size=40)] + flat), (64, 64, 1), 2)
    with pytest.raises(InputError, match="rate in"):
        validate_spec(ModelSpec("t", [LayerSpec("Dropout", rate=1.5)] + flat), (8, 8, 1), 2)
    with pytest.raises(InputError, match="unknown kind"):
        validate_spec(ModelSpec("t", [LayerSpec("Conv3D")]), (8, 8, 1), 2)
    with pytest.raises(InputError, match="at least 2 classes"):
        validate_spec(ModelSpec("t", flat), (8, 8, 1), 1)


def test_dense_on_feature_map_is_explained():
    spec = ModelSpec("t", [LayerSpec("Dense", units=8, activation="relu"), LayerSpec("Flatten")])
    warnings = validate_spec(spec, (4, 4, 3), 2)
    assert len(warnings) == 1 and "each pixel separately" in warnings[0]


def test_spec_round_trip_and_unknown_preset():
    spec = get_preset("orientation-fast")
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec
    spec.layers[0].filters = 999
    assert get_preset("orientation-fast").layers[0].filters != 999  # presets are copied
    with pytest.raises(InputError, match="Unknown preset 'nope'"):
        get_preset("nope")
    with pytest.raises(InputError, match=r"Layer 1 \(Conv2D\): unknown field\(s\) \[.bogus.\]"):
        ModelSpec.from_dict({**spec.to_dict(), "layers": [{"kind": "Conv2D", "bogus": 1}]})


def test_layer_table_round_trip_and_bad_cells():
    import math

    from core.models import layers_from_rows, layers_to_rows

    spec = get_preset("keras-convnet")
    rows = layers_to_rows(spec.layers)
    assert layers_from_rows(rows) == spec.layers
    # What a data editor gives back: floats for ints, NaN for blank cells, a blank new row.
    edited = [dict(r, filters=float(r["filters"]) if r["filters"] else math.nan) for r in rows]
    edited.append({"kind": None, "units": math.nan})
    assert layers_from_rows(edited) == spec.layers
    with pytest.raises(InputError, match="whole number"):
        layers_from_rows([{"kind": "Conv2D", "filters": 2.5, "kernel_size": 3}])
    with pytest.raises(InputError, match="expected a kind"):
        layers_from_rows([{"kind": "Conv3D"}])
    with pytest.raises(InputError, match="no layers"):
        layers_from_rows([{"kind": ""}])


# ----- the layer registry ---------------------------------------------------------------

# A value for every field a kind may declare: a new field without a sample fails here first.
SAMPLE = {"filters": 6, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu", "pool_size": 2,
          "rate": 0.25, "units": 7, "use_bias": True, "backbone": "MobileNetV2", "trainable": False}  # fmt: skip


def _spec_with(kind_name: str) -> tuple[ModelSpec, tuple]:
    kind = KINDS[kind_name]
    layer = LayerSpec(kind_name, **{f: SAMPLE[f] for f in kind.fields})
    shape = (33, 35, 3) if kind_name == "Pretrained" else (9, 11, 2)
    tail = [] if kind_name in ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D") else [LayerSpec("Flatten")]
    return ModelSpec("t", [layer, *tail]), shape


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_every_registered_kind_builds_summarises_and_validates(kind_name):
    """The arithmetic summary (no weights) agrees with the Keras model, layer by layer."""
    spec, shape = _spec_with(kind_name)
    summary = summarize_spec(spec, shape, 4)
    warnings = validate_spec(spec, shape, 4)
    assert warnings == summary.warnings
    assert warnings == [] or (kind_name == "Dense" and "each pixel separately" in warnings[0])
    model = build_model(spec, shape, 4, pretrained_weights=False)
    assert summary.total_params == model.count_params()
    assert summary.trainable_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    first = summary.layers[0]
    keras_name = "mobilenetv2_1.00_32" if kind_name == "Pretrained" else first.name
    keras_layer = next(lay for lay in model.layers if lay.name.startswith(keras_name[:11]))
    assert tuple(keras_layer.output.shape[1:]) == tuple(first.output_shape)
    assert first.params == keras_layer.count_params()
    assert summary.layers[-1].name == "predictions" and summary.layers[-1].output_shape == (4,)
    assert first.label.split()[0] in (kind_name, "MobileNetV2")


def test_new_kinds_count_like_a_hand_computation():
    spec = ModelSpec("t", [LayerSpec("SeparableConv2D", filters=8, kernel_size=3, activation="relu"),
                           LayerSpec("GlobalMaxPooling2D")])  # fmt: skip
    sep, gmp, head = summarize_spec(spec, (10, 10, 4), 3).layers
    assert sep.output_shape == (8, 8, 8)
    assert sep.params == 3 * 3 * 4 + 4 * 8 + 8  # depthwise, pointwise, bias
    assert sep.macs == 8 * 8 * 4 * 9 + 8 * 8 * 4 * 8
    assert gmp.output_shape == (8,) and gmp.params == 0
    assert head.params == 8 * 3 + 3


def test_mobilenet_arithmetic_matches_keras():
    import keras

    from core.models.backbones import mobilenet_v2_counts

    for h, w in ((32, 32), (97, 131)):
        base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(h, w, 3))
        trainable, frozen, _ = mobilenet_v2_counts(h, w)
        assert trainable == sum(int(np.prod(v.shape)) for v in base.trainable_weights)
        assert frozen == sum(int(np.prod(v.shape)) for v in base.non_trainable_weights)
        assert tuple(base.output.shape[1:]) == (-(-h // 32), -(-w // 32), 1280)


def test_summary_never_builds_a_model(monkeypatch):
    """The largest model the form allows is summarised by arithmetic, in no time and memory."""
    import keras

    monkeypatch.setattr(keras, "Model", None)  # any build would fail
    spec = ModelSpec("huge", [LayerSpec("Conv2D", filters=4096, kernel_size=15, padding="same"),
                              LayerSpec("GlobalAveragePooling2D"), LayerSpec("Dense", units=65536),
                              LayerSpec("Dense", units=65536)])  # fmt: skip
    summary = summarize_spec(spec, (1024, 1024, 3), 10)
    assert summary.total_params > 4e9


@pytest.mark.parametrize(
    "layer, message",
    [
        ({"kind": "Conv2D", "filters": "abc", "kernel_size": 3}, "filters to be a whole number"),
        ({"kind": "Conv2D", "filters": True, "kernel_size": 3}, "filters to be a whole number"),
        ({"kind": "Conv2D", "filters": 2.5, "kernel_size": 3}, "filters to be a whole number"),
        ({"kind": "Conv2D", "filters": {"a": 1}, "kernel_size": 3}, "filters to be a whole number"),
        ({"kind": "Dense", "units": 8, "activation": 3}, "activation to be text"),
        ({"kind": "Dense", "units": 8, "activation": "relu6"}, "activation in relu"),
        ({"kind": 3}, "expected an object with a 'kind'"),
        ({"kind": "Dense", "units": 8, "colour": "red"}, "unknown field"),
        ("Dense", "expected an object with a 'kind'"),
    ],
)
def test_layer_fields_are_type_checked_before_keras(layer, message):
    spec = get_preset("mnist-mlp").to_dict()
    with pytest.raises(InputError, match=message):
        ModelSpec.from_dict({**spec, "layers": [layer]})


def test_a_required_field_is_named():
    with pytest.raises(InputError, match="Layer 1 \\(Conv2D\\): filters is required"):
        validate_spec(ModelSpec("t", [LayerSpec("Conv2D", kernel_size=3), LayerSpec("Flatten")]), (8, 8, 1), 2)


def test_layer_table_columns_come_from_the_registry():
    from core.models import editable_kinds, layers_from_rows, layers_to_rows, table_columns

    assert "SeparableConv2D" in editable_kinds() and "GlobalMaxPooling2D" in editable_kinds()
    assert "Pretrained" not in editable_kinds()
    cols = table_columns()
    for name in editable_kinds():
        assert set(KINDS[name].fields) <= set(cols)
    layers = [LayerSpec("SeparableConv2D", filters=8, kernel_size=3, padding="same", activation="relu"),
              LayerSpec("GlobalMaxPooling2D"), LayerSpec("Dense", units=4, use_bias=False)]  # fmt: skip
    rows = layers_to_rows(layers)
    assert rows[1]["filters"] is None and rows[0]["units"] is None  # fields a kind does not read are blank
    assert layers_from_rows(rows) == layers
