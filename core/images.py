"""Load, validate and convert images: every format, mode and size a user may upload.

All loaders return float32 arrays in [0, 1]: ``(H, W)`` for grayscale, ``(H, W, 3)`` for RGB.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_FILE_BYTES = 50 * 1024 * 1024  # 50 MB: larger uploads are refused before decoding.
MAX_PIXELS = 40_000_000  # decompression-bomb guard (a 40-megapixel photo still passes).
MIN_SIDE = 1

ImageSource = str | Path | bytes | BinaryIO

# Why: Pillow only warns below 2x its own limit; we refuse at our limit, before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class ImageInfo:
    """What was found in a file before conversion (shown to users as a notice)."""

    format: str
    mode: str
    width: int
    height: int
    frames: int


def _read_bytes(source: ImageSource, max_bytes: int) -> tuple[bytes, str]:
    """Returns the file's bytes and a name for messages."""
    if isinstance(source, bytes):
        data, name = source, "the image"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise InputError(f"Image file not found: {path}")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{name} is too large: {size / 1e6:.1f} MB (the limit is {max_bytes / 1e6:.0f} MB).")
        data = path.read_bytes()
    else:
        name = getattr(source, "name", "the image")
        data = source.read(max_bytes + 1)
    if len(data) == 0:
        raise InputError(f"{name} is empty (0 bytes).")
    if len(data) > max_bytes:
        raise InputError(f"{name} is too large (the limit is {max_bytes / 1e6:.0f} MB).")
    return data, str(name)


def open_image(source: ImageSource, max_bytes: int = MAX_FILE_BYTES) -> tuple[Image.Image, ImageInfo]:
    """Opens, verifies and fully decodes an image; applies EXIF rotation; first frame only.

    Args:
        source: a path, raw bytes or a binary file object (e.g. a Streamlit upload).
        max_bytes: files larger than this are refused before decoding.

    Returns:
        The decoded PIL image (EXIF orientation applied) and what the file held.

    Raises:
        InputError: empty, too large, not an image, corrupt or truncated, or more than
            ``MAX_PIXELS`` pixels (a decompression bomb).
    """
    data, name = _read_bytes(source, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise InputError(
                    f"{name} has {width}x{height} pixels, more than the {MAX_PIXELS:,} allowed "
                    "(possible decompression bomb)."
                )
            probe.verify()  # checks structure and checksums without decoding pixels
            img = Image.open(io.BytesIO(data))
            frames = getattr(img, "n_frames", 1)
            img.seek(0)
            img.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{name} is too large to decode safely (possible decompression bomb).") from exc
    except UnidentifiedImageError as exc:
        raise InputError(
            f"{name} is not an image Pillow can read (expected PNG, JPEG, BMP, GIF, WebP or TIFF)."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{name} is corrupt or truncated: {exc}") from exc
    if min(img.size) < MIN_SIDE:
        raise InputError(f"{name} has an empty size {img.size}.")
    info = ImageInfo(img.format or "?", img.mode, img.size[0], img.size[1], frames)
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not lose the picture
        pass
    return img, info


def check_image_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Returns None when ``path`` is a readable image, else the reason it is not."""
    try:
        open_image(path, max_bytes)
    except InputError as exc:
        return str(exc)
    return None


def to_mode(img: Image.Image, color_mode: str) -> Image.Image:
    """Converts any Pillow mode to "L" (grayscale) or "RGB".

    Transparency is composited on white (how a transparent PNG looks in a viewer);
    16-bit and 32-bit integer images are rescaled by their actual range; CMYK and
    palette images go through RGB.
    """
    if color_mode not in ("grayscale", "rgb"):
        raise InputError(f"Expected color_mode 'grayscale' or 'rgb'. Received: {color_mode!r}")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(scaled.astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode in ("RGB", "L") and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    target = "L" if color_mode == "grayscale" else "RGB"
    return img.convert(target) if img.mode != target else img


def to_array(img: Image.Image, color_mode: str = "grayscale") -> np.ndarray:
    """Converts an image to float32 in [0, 1]: (H, W) for grayscale, (H, W, 3) for RGB."""
    return np.asarray(to_mode(img, color_mode), dtype=np.float32) / 255.0


def load_array(
    source: ImageSource,
    color_mode: str = "grayscale",
    size: int | tuple[int, int] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> np.ndarray:
    """Loads an image file as float32 [0, 1], optionally resized to ``size`` (bilinear).

    Returns:
        (H, W) for grayscale or (H, W, 3) for RGB; (size, size[, 3]) when resized.
    """
    img, _ = open_image(source, max_bytes)
    img = to_mode(img, color_mode)
    if size is not None:
        wh = (size, size) if isinstance(size, int) else (size[1], size[0])
        if img.size != wh:
            img = img.resize(wh, Image.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.float32) / 255.0


def downscale(img: Image.Image, max_side: int) -> tuple[Image.Image, bool]:
    """Shrinks an image so its longer side is at most ``max_side``; says if it did."""
    if max(img.size) <= max_side:
        return img, False
    copy = img.copy()
    copy.thumbnail((max_side, max_side), Image.LANCZOS)
    return copy, True
