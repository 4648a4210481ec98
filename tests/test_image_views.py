"""core.data.images for views: what a conversion is told as (notices), grayscale views, thumbnails."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from core.data.images import conversion_notices, load_thumbnail, open_grayscale, open_image


def _bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _notices(data: bytes, max_side: int | None = 512) -> list[str]:
    img, info = open_image(data, max_side=max_side)
    return conversion_notices(img, info)


def test_a_plain_grayscale_image_needs_no_notice():
    assert _notices(_bytes(Image.new("L", (40, 30), 90))) == []


def test_an_animation_keeps_its_first_frame_and_says_so():
    frames = [Image.new("L", (40, 30), v) for v in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    notices = _notices(buf.getvalue())
    assert notices[0] == "Animated GIF with 2 frames: showing the first frame."


def test_16_bit_is_rescaled_and_says_its_depth():
    arr = (np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50).astype(np.uint16)
    notices = _notices(_bytes(Image.fromarray(arr)))
    assert len(notices) == 1 and "(16-bit) image: rescaled to 0..255 by its own range." in notices[0]


def test_32_bit_float_says_32_bit():
    notices = _notices(_bytes(Image.fromarray(np.linspace(0, 1, 600, dtype=np.float32).reshape(20, 30)), "TIFF"))
    assert notices == ["F (32-bit) image: rescaled to 0..255 by its own range."]


def test_transparent_colour_image_is_shown_on_white_and_made_gray():
    notices = _notices(_bytes(Image.new("RGBA", (40, 30), (255, 0, 0, 0))))
    assert notices == [
        "Transparent image: transparent areas are shown on white.",
        "RGBA image converted to grayscale (one channel keeps the arithmetic readable).",
    ]


def test_a_large_image_is_downscaled_with_its_sizes():
    notices = _notices(_bytes(Image.new("L", (1200, 900), 10)), max_side=512)
    assert notices == ["Large image (1200x900) downscaled to 512x384 to stay live."]


def test_open_grayscale_returns_the_view_and_the_notices():
    rgba = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    arr, notices = open_grayscale(_bytes(rgba), max_side=512)
    assert arr.shape == (30, 40) and arr.dtype == np.float32
    assert arr.min() == pytest.approx(1.0)  # fully transparent: white
    assert len(notices) == 2
    big, notices = open_grayscale(_bytes(Image.new("RGB", (1000, 500), (0, 0, 0))), max_side=100)
    assert big.shape == (50, 100) and big.max() == 0.0
    assert notices[-1] == "Large image (1000x500) downscaled to 100x50 to stay live."


def test_load_thumbnail_reads_gray_values(tmp_path):
    path = tmp_path / "a.png"
    arr = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (5, 1))
    Image.fromarray(arr, "L").save(path)
    thumb = load_thumbnail(path)
    assert thumb.shape == (5, 25) and thumb.dtype == np.float32
    np.testing.assert_allclose(thumb, arr / 255.0, atol=1e-6)


def test_load_thumbnail_of_a_missing_or_broken_file_is_a_white_square(tmp_path):
    missing = load_thumbnail(tmp_path / "gone.png")
    assert missing.shape == (28, 28) and (missing == 1.0).all()
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert (load_thumbnail(tmp_path / "bad.png", fallback_side=10) == np.ones((10, 10))).all()


def test_load_thumbnail_never_blocks_on_a_fifo(tmp_path):
    fifo = tmp_path / "planted.png"
    os.mkfifo(fifo)
    assert load_thumbnail(fifo).shape == (28, 28)  # refused as not a regular file, not read


def test_load_thumbnail_shows_transparency_on_white(tmp_path):
    path = tmp_path / "t.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(path)
    assert load_thumbnail(path).min() == pytest.approx(1.0)
