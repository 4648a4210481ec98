import numpy as np
import pytest

from core.architectures import (
    PRESETS,
    LayerSpec,
    ModelSpec,
    build_model,
    describe,
    get_preset,
    summarize,
    validate_spec,
)
from core.errors import InputError


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
    summary = describe(spec, (256, 256, 1), 2)
    assert summary.total_params == 130_090_178
    assert any("weights" in w for w in summary.warnings)  # the huge Dense is flagged


def test_every_preset_builds_and_predicts():
    for name, spec in PRESETS.items():
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
    s = summarize(build_model(spec, (10, 10, 2), 3))
    conv, pool, flat, dense = s.layers
    assert conv.output_shape == (8, 8, 4) and conv.macs == 8 * 8 * 4 * 3 * 3 * 2
    assert conv.params == 3 * 3 * 2 * 4 + 4
    assert pool.output_shape == (4, 4, 4) and flat.output_shape == (64,)
    assert dense.macs == 64 * 3 and s.total_macs == conv.macs + dense.macs


def test_validation_errors_are_clear():
    flat = [LayerSpec("Flatten")]
    with pytest.raises(InputError, match="below 1x1"):
        validate_spec(ModelSpec("t", [LayerSpec("MaxPooling2D", pool_size=2)] * 6 + flat), (28, 28, 1), 10)
    with pytest.raises(InputError, match="smaller than its 5x5 kernel"):
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
    with pytest.raises(InputError, match="not a valid layer"):
        ModelSpec.from_dict({**spec.to_dict(), "layers": [{"kind": "Conv2D", "bogus": 1}]})


def test_layer_table_round_trip_and_bad_cells():
    import math

    from core.architectures import layers_from_rows, layers_to_rows

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
