"""Small hostile files made by the tests themselves: images, specs, .npz, run folders."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def image_16bit() -> Image.Image:
    """A 16-bit grayscale X-ray-like image (values up to 4095, as detectors give)."""
    ramp = (np.linspace(0, 4095, 64 * 64).reshape(64, 64)).astype(np.uint16)
    return Image.fromarray(ramp)


def float_tiff_with_nan() -> bytes:
    a = np.linspace(-3, 7, 40 * 40, dtype=np.float32).reshape(40, 40)
    a[5, 5], a[6, 6] = np.nan, np.inf
    return png_bytes(Image.fromarray(a, "F"), "TIFF")


def lab_tiff() -> bytes:
    return png_bytes(Image.new("LAB", (30, 30), (60, 10, 200)), "TIFF")


def few_dots() -> Image.Image:
    """A white page with two specks of ink: nothing to read, and it used to give NaN."""
    img = Image.new("L", (400, 400), 255)
    img.putpixel((10, 10), 0)
    img.putpixel((390, 380), 0)
    return img


def png_header_then_noise(size: int = 300) -> bytes:
    """The PNG signature followed by random bytes, seeded: os.urandom made about one file in
    three hundred parse as a PNG chunk and fail as "truncated" instead (a flaky CI run)."""
    return b"\x89PNG\r\n\x1a\n" + np.random.default_rng(size).bytes(size)


def near_limit_png(megapixels: float = 39.0, mode: str = "1") -> bytes:
    """A tiny file (a blank PNG compresses to almost nothing) that decodes to ~40 megapixels."""
    side = int((megapixels * 1e6) ** 0.5)
    return png_bytes(Image.new(mode, (side, side), 1 if mode == "1" else (200, 10, 10)))


def write_spec(path: Path, layers, **extra) -> Path:
    path.write_text(json.dumps({"name": "hostile", "layers": layers, **extra}))
    return path


def write_npz(path: Path, x_train, y_train, x_test=None, y_test=None) -> Path:
    x_test = x_train[:10] if x_test is None else x_test
    y_test = y_train[:10] if y_test is None else y_test
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def digits(n: int = 200, dtype=np.uint8, scale: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 10
    x = rng.random((n, 28, 28)) * 0.1
    for i, k in enumerate(y):
        x[i, 2 + (k // 5) * 14 : 10 + (k // 5) * 14, 1 + (k % 5) * 5 : 6 + (k % 5) * 5] = 1.0
    return (x * scale).astype(dtype), y


def npz_with_lying_size(path: Path, declared: int) -> Path:
    """A valid small .npz whose zip directory claims a member of ``declared`` bytes."""
    x, y = digits(20)
    write_npz(path, x, y)
    data = bytearray(path.read_bytes())
    cd = data.find(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = min(declared, 0xFFFFFFFE).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
