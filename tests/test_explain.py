"""core.serving.explain (feature maps, Grad-CAM) and inference probes on a constructed toy task."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from core.base.errors import InputError
from core.serving import explain
from core.serving.inference import Probe, apply_probe

SIZE = 24


def toy_data(n: int, seed: int = 0):
    """Class 1 has a bright 6x6 square somewhere in the image; class 0 has none (noise only)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.2, size=(n, SIZE, SIZE, 1)).astype("float32")
    y = np.arange(n) % 2
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, SIZE - 6, size=2)
        x[i, r : r + 6, c : c + 6] = 1.0
    return x, keras.utils.to_categorical(y, 2)


@pytest.fixture(scope="module")
def toy_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inp)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(h)
    h = keras.layers.GlobalMaxPooling2D()(h)
    out = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inp, out)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    x, y = toy_data(400)
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    xt, yt = toy_data(100, seed=1)
    assert model.evaluate(xt, yt, verbose=0)[1] > 0.95
    return model


def test_feature_maps_shapes(toy_model):
    x, _ = toy_data(2)
    maps = explain.feature_maps(toy_model, x[1])
    assert list(maps) == ["conv_a", "conv_b"] == explain.conv_layers(toy_model)
    assert maps["conv_a"].shape == (SIZE, SIZE, 8)
    with pytest.raises(InputError, match="Expected an input of shape"):
        explain.feature_maps(toy_model, np.zeros((10, 10, 1)))
    with pytest.raises(InputError, match="Not feature-map layers"):
        explain.feature_maps(toy_model, x[1], ["dense"])


def test_gradcam_highlights_the_square(toy_model, tmp_path):
    x = np.full((SIZE, SIZE, 1), 0.1, dtype="float32")
    x[3:9, 14:20] = 1.0  # the discriminative square, top right
    heat, idx = explain.gradcam(toy_model, x)
    assert idx == 1 and heat.shape == (SIZE, SIZE) and heat.max() == pytest.approx(1.0)
    inside = heat[3:9, 14:20].mean()
    outside = np.delete(heat.ravel(), (np.arange(SIZE * SIZE).reshape(SIZE, SIZE)[3:9, 14:20]).ravel()).mean()
    assert inside > 3 * outside
    # The same on the model reloaded from a .keras file (what the app does).
    toy_model.save(tmp_path / "toy.keras")
    reloaded = keras.models.load_model(tmp_path / "toy.keras")
    heat2, _ = explain.gradcam(reloaded, x, layer="conv_b")
    np.testing.assert_allclose(heat2, heat, atol=1e-4)
    up = explain.upsample(heat[:12, :12], (SIZE, SIZE))
    assert up.shape == (SIZE, SIZE) and 0 <= up.min() and up.max() <= 1


def test_gradcam_errors(toy_model):
    x, _ = toy_data(1)
    with pytest.raises(InputError, match="feature-map layer"):
        explain.gradcam(toy_model, x[0], layer="nope")
    with pytest.raises(InputError, match="class index"):
        explain.gradcam(toy_model, x[0], class_index=5)
    mlp = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(InputError, match="no convolutional"):
        explain.gradcam(mlp, np.zeros((4, 4, 1)))


def test_probes_change_the_image_as_described():
    img = Image.fromarray(np.tile(np.arange(0, 200, 10, dtype=np.uint8), (20, 1)), "L")  # brighter to the right
    a = lambda im: np.asarray(im, dtype=float)  # noqa: E731
    assert apply_probe(img, Probe()) is img
    np.testing.assert_array_equal(a(apply_probe(img, Probe(flip_horizontal=True))), a(img)[:, ::-1])
    assert a(apply_probe(img, Probe(brightness=0.2))).mean() == pytest.approx(a(img).mean() + 51, abs=1)
    assert a(apply_probe(img, Probe(contrast=0.0))).std() < 1
    occ = a(apply_probe(img, Probe(occlude=(0.0, 0.0, 0.5))))
    assert (occ[:10, :10] == 128).all() and (occ[15:, 15:] == a(img)[15:, 15:]).all()
    noisy = apply_probe(img, Probe(noise=0.1, seed=3))
    np.testing.assert_array_equal(a(noisy), a(apply_probe(img, Probe(noise=0.1, seed=3))))  # seeded
    rot = a(apply_probe(img, Probe(rotate=180)))
    np.testing.assert_allclose(rot[5:15, 5:15], a(img)[::-1, ::-1][5:15, 5:15], atol=2)


def test_explanations_work_on_the_nested_transfer_backbone(tmp_path):
    from core.models import build_model, get_preset

    model = build_model(get_preset("transfer-mobilenetv2"), (64, 64, 3), 2, [], pretrained_weights=False)
    model.save(tmp_path / "t.keras")
    for m in (model, keras.models.load_model(tmp_path / "t.keras")):
        backbone = explain.conv_layers(m)[-1]
        x = np.random.default_rng(0).random((64, 64, 3)).astype("float32")
        maps = explain.feature_maps(m, x, [backbone])
        assert maps[backbone].ndim == 3
        heat, idx = explain.gradcam(m, x, backbone)
        assert heat.shape == maps[backbone].shape[:2] and idx in (0, 1)


def test_explanations_are_charged_to_the_visitor_and_refused_past_the_rate(toy_model, monkeypatch):
    """Grad-CAM, feature maps and a TFLite conversion cost seconds of the room's CPU each (issue 22)."""
    from core.access import limits
    from core.access.roles import Actor
    from core.metrics.classes import to_tflite

    monkeypatch.setitem(limits.RATES, "heavy", limits.Rate(3, 60, "evaluations and explanations"))
    visitor, neighbour = Actor("s1", False, "192.0.2.1"), Actor("s2", False, "192.0.2.2")
    x, _ = toy_data(2)
    explain.gradcam(toy_model, x[1], actor=visitor)
    explain.feature_maps(toy_model, x[1], actor=visitor)
    assert to_tflite(toy_model, actor=visitor)[4:8] == b"TFL3"
    with pytest.raises(InputError, match="at most 3 evaluations and explanations per 1 min per visitor"):
        explain.gradcam(toy_model, x[1], actor=visitor)
    with pytest.raises(InputError, match="evaluations and explanations"):
        explain.feature_maps(toy_model, x[1], actor=visitor)
    explain.gradcam(toy_model, x[1], actor=neighbour)  # another visitor is not slowed
    explain.gradcam(toy_model, x[1])  # nor the command line
