import io

import numpy as np
import pytest
from PIL import Image

from core.base.errors import InputError
from core.data.images import MAX_PIXELS, check_image_file, load_array, open_image, to_array


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"])
def test_every_format_loads_as_grayscale_and_rgb(fmt):
    img = Image.new("RGB", (30, 20), (200, 100, 50))
    data = _bytes(img, fmt)
    gray = load_array(data, "grayscale")
    rgb = load_array(data, "rgb")
    assert gray.shape == (20, 30) and rgb.shape == (20, 30, 3)
    assert gray.dtype == np.float32 and 0.0 <= gray.min() and gray.max() <= 1.0
    assert rgb[..., 0].mean() > rgb[..., 2].mean()  # red stays redder than blue (palette GIF too)


def test_modes_rgba_palette_cmyk_16bit_la():
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))  # fully transparent -> white background
    assert load_array(_bytes(rgba, "PNG")).min() == pytest.approx(1.0)
    pal = Image.new("P", (8, 8), 3)
    pal.putpalette([0, 0, 0] * 3 + [255, 255, 255] + [0, 0, 0] * 252)
    assert load_array(_bytes(pal, "PNG")).mean() == pytest.approx(1.0)
    cmyk = Image.new("CMYK", (8, 8), (0, 0, 0, 255))  # full black ink
    assert load_array(_bytes(cmyk, "JPEG")).mean() < 0.1
    arr16 = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    img16 = Image.fromarray(arr16)  # mode I;16
    a = load_array(_bytes(img16, "PNG"))
    assert a.min() == 0.0 and a.max() == 1.0 and a[0, 1] < a[7, 7]  # scaled by its own range
    la = Image.new("LA", (8, 8), (0, 255))
    assert load_array(_bytes(la, "PNG")).max() < 0.01


def test_exif_rotation_is_applied():
    img = Image.new("L", (40, 10), 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _bytes(img, "JPEG", exif=exif.tobytes())
    assert load_array(data).shape == (40, 10)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("L", (10, 10), v) for v in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    img, info = open_image(buf.getvalue())
    assert info.frames == 2
    assert to_array(img).max() < 0.01


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello, I am text", "not an image"),
        (_bytes(Image.new("L", (64, 64), 128), "PNG")[:60], "corrupt or truncated"),
    ],
)
def test_bad_files_raise_input_error(data, message):
    with pytest.raises(InputError, match=message):
        open_image(data)


def test_decompression_bomb_refused_before_decoding():
    side = int((MAX_PIXELS * 2) ** 0.5)
    data = _bytes(Image.new("1", (side, side), 0), "PNG")  # tiny file, huge canvas
    assert len(data) < 2_000_000
    with pytest.raises(InputError, match="decompression bomb"):
        open_image(data)


def test_size_limit_and_check_image_file(tmp_path):
    path = tmp_path / "a.png"
    Image.new("L", (50, 50), 7).save(path)
    assert check_image_file(path) is None
    assert "too large" in check_image_file(path, max_bytes=10)
    assert "not found" in check_image_file(tmp_path / "missing.png")


def test_resize_on_load():
    data = _bytes(Image.new("L", (100, 50), 255), "PNG")
    assert load_array(data, "rgb", size=32).shape == (32, 32, 3)
