"""The shipped MNIST model, and predictions from many sessions at once."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.base.errors import InputError
from core.serving.default_model import DEFAULT_RUN_DIR, default_run
from core.serving.inference import Probe
from core.tasks import serve


def drawing(digit: str) -> Image.Image:
    """A digit drawn with a thick black pen on a white 280x280 canvas, like the drawing pad."""
    img = Image.new("L", (280, 280), 255)
    d = ImageDraw.Draw(img)
    if digit == "1":
        d.line([(140, 40), (140, 240)], fill=0, width=22)
    elif digit == "0":
        d.ellipse([80, 40, 200, 240], outline=0, width=22)
    elif digit == "7":
        d.line([(70, 50), (210, 50), (120, 240)], fill=0, width=22)
    return img


@pytest.fixture(scope="module")
def served():
    run = default_run()
    assert run is not None, f"the shipped model is missing from {DEFAULT_RUN_DIR}"
    return serve(run)


def test_shipped_model_is_small_accurate_and_documented():
    run = default_run()
    assert (DEFAULT_RUN_DIR / "best.keras").stat().st_size < 5_000_000
    assert run.metrics()["accuracy"] >= 0.99 and run.metrics()["n"] == 10_000
    assert run.config()["preset"] == "mnist-fast"


@pytest.mark.parametrize("digit", ["0", "1", "7"])
def test_shipped_model_reads_drawn_digits(served, digit):
    x, probs = served.predict_images([drawing(digit)])
    assert x.shape == (1, 28, 28, 1)
    assert served.spec.class_names[int(np.argmax(probs[0]))] == digit


def test_blank_drawing_is_a_clear_error(served):
    with pytest.raises(InputError, match="No digit found"):
        served.predict_images([Image.new("L", (280, 280), 255)])


def test_probe_can_break_the_model(served):
    _, upright = served.predict_images([drawing("7")])
    _, flipped = served.predict_images([drawing("7")], Probe(rotate=180))
    assert not np.allclose(upright, flipped)


def test_twenty_sessions_predict_at_the_same_moment(served):
    images = [drawing("017"[i % 3]) for i in range(20)]
    x = np.stack([served.predict_images([img])[0][0] for img in images])
    expected = served.probabilities(x)
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def session(i: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                results[i] = served.predict_images([images[i]])[1][0]
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for i in range(20):
        np.testing.assert_allclose(results[i], expected[i], atol=1e-5)
