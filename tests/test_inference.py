import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.base.errors import InputError
from core.serving.inference import ModelInput, load_and_preprocess, prepare_digit

MNIST = ModelInput(True, 28, "grayscale", tuple("0123456789"))


def _drawn_seven(size=(300, 200), ink=(20, 20, 20), paper=(240, 235, 230)) -> bytes:
    """A dark '7' drawn on light paper, off centre, like a phone photo of a note."""
    img = Image.new("RGB", size, paper)
    d = ImageDraw.Draw(img)
    d.line([(40, 40), (140, 40), (80, 180)], fill=ink, width=14)
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def test_photo_of_digit_becomes_mnist_like():
    x = load_and_preprocess(_drawn_seven(), MNIST)
    assert x.shape == (28, 28, 1)
    img = x[..., 0]
    assert img[0].max() == 0 and img[:, 0].max() == 0  # black background (inverted)
    rows, cols = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == 20  # fits the 20x20 box
    ys, xs = np.indices(img.shape)
    cy, cx = (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()
    assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0  # centred by mass
    assert img.max() == pytest.approx(1.0, abs=0.05)


def test_light_on_dark_digit_is_not_inverted():
    arr = np.zeros((28, 28), np.float32)
    arr[6:22, 12:16] = 1.0  # a '1', already MNIST-like
    out = prepare_digit(arr)
    assert out[14, 14] > 0.5 and out[0, 0] == 0


def test_blank_drawing_is_an_error():
    with pytest.raises(InputError, match="No digit found"):
        prepare_digit(np.ones((50, 50), np.float32))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "CMYK", "I;16"])
def test_image_models_get_their_size_and_channels(mode):
    img = (
        Image.new("RGB", (300, 120), (10, 200, 30)).convert(mode)
        if mode != "I;16"
        else Image.fromarray(np.arange(36000, dtype=np.uint16).reshape(120, 300))
    )
    buf = io.BytesIO()
    img.save(buf, "TIFF" if mode in ("CMYK", "I;16") else "PNG")
    for color, c in (("grayscale", 1), ("rgb", 3)):
        x = load_and_preprocess(buf.getvalue(), ModelInput(False, 64, color, ("a", "b")))
        assert x.shape == (64, 64, c) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1


def test_served_models_run_as_one_graph_with_the_same_outputs():
    """The graph the room serves answers exactly what the Keras model answers, at any batch size."""
    import keras

    from core.serving import ood
    from core.serving.inference import graph_function

    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(8, activation="relu")(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inp, out)
    head = ood.head_model(model)
    fast_model, fast_head = graph_function(model), graph_function(head)
    assert fast_model is not model and fast_head is not head  # traced
    for n in (1, 5, 32):
        x = np.random.default_rng(n).random((n, 12, 12, 1), dtype=np.float32)
        np.testing.assert_allclose(
            np.asarray(fast_model(x)), np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-6
        )
        (f1, p1), (f2, p2) = fast_head(x, training=False), head(x, training=False)
        np.testing.assert_allclose(np.asarray(f1), np.asarray(f2), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(p1), np.asarray(p2), rtol=1e-5, atol=1e-6)
    with pytest.raises(Exception):  # noqa: B017  (a wrong shape is refused, as by the model)
        fast_model(np.zeros((1, 10, 10, 1), np.float32))


def test_something_that_cannot_be_traced_is_served_as_it_is():
    from core.serving.inference import graph_function

    class NoInputs:
        inputs = []

    thing = NoInputs()
    assert graph_function(thing) is thing
