"""Load, validate and convert images: every format, mode and size a user may upload.

All loaders return float32 arrays in [0, 1]: ``(H, W)`` for grayscale, ``(H, W, 3)`` for RGB.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.base.errors import InputError
from core.base.i18n import N_, _, number

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_FILE_BYTES = 50 * 1024 * 1024  # 50 MB: larger uploads are refused before decoding.
MAX_PIXELS = 40_000_000  # decompression-bomb guard (a 40-megapixel photo still passes).
MIN_SIDE = 1
ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")  # modes with an alpha channel (not "LAB": its A is a colour)
WORKING_SIDE = 1024  # decoded images are shrunk to this longest side at once: nothing needs more
REQUEST_PIXELS = 400_000_000  # source pixels one page run may decode (10 images at the 40 MP limit)

ImageSource = str | Path | bytes | BinaryIO

# Why: Pillow only warns below 2x its own limit; we refuse at our limit, before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2
ImageFile.LOAD_TRUNCATED_IMAGES = False


class PixelBudgetError(InputError):
    """A :class:`PixelBudget` ran out: the whole operation stops (not just this image)."""


class PixelBudget:
    """How many source pixels a caller (a request, a session) may still decode.

    Decoding cost is proportional to the pixels in the file, not its bytes (a small PNG can
    hold 40 megapixels), so uploads are charged by the size in their header, before decoding.
    """

    def __init__(
        self, pixels: int, what: str = N_("this request"), session: str | None = None, address: str | None = None
    ):
        self.left = int(pixels)
        self.what = what
        self.session = session  # also charged to this web session's rate of decoding (core.access.limits)
        self.address = address  # ... and to its network address's

    def charge(self, pixels: int, name: str) -> None:
        if pixels > self.left:
            raise PixelBudgetError(
                _("{name} was not decoded: {what} may decode {left} more pixels and it has {pixels}. Send fewer or "
                  "smaller images.").format(name=name, what=_(self.what), left=number(self.left), pixels=number(pixels))
            )  # fmt: skip
        if self.session is not None or self.address is not None:
            from core.access.limits import take

            take("decode", self.session, pixels / 1e6, address=self.address)
        self.left -= pixels


@dataclass(frozen=True)
class ImageInfo:
    """What was found in a file before conversion (shown to users as a notice)."""

    format: str
    mode: str
    width: int
    height: int
    frames: int


def check_regular_file(path: Path, what: str = N_("image")) -> os.stat_result:
    """Stats ``path`` and refuses anything but a regular file, saying what it is instead.

    Raises:
        InputError: missing, a folder, a device, a pipe or a socket.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(_("{what} file not found: {path}").format(what=_(what).capitalize(), path=path)) from None
    except OSError as exc:
        raise InputError(
            _("Could not read {path}: {problem}.").format(path=path, problem=exc.strerror or exc)
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(_("Expected an {what} file. Received a folder: {path}").format(what=_(what), path=path))
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            _("Expected an {what} file. Received a device, pipe or socket: {path}").format(what=_(what), path=path)
        )
    return info


def read_image_bytes(source: ImageSource, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """Returns the file's bytes and a name for messages."""
    if isinstance(source, bytes):
        data, name = source, _("the image")
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = path.name
        size = check_regular_file(path).st_size
        if size > max_bytes:
            raise InputError(
                _("{name} is too large: {size} MB (the limit is {limit} MB).").format(
                    name=name, size=number(size / 1e6, 1), limit=number(max_bytes / 1e6, 0))
            )  # fmt: skip
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    else:
        name = getattr(source, "name", None) or _("the image")
        data = source.read(max_bytes + 1)
    if len(data) == 0:
        raise InputError(_("{name} is empty (0 bytes).").format(name=name))
    if len(data) > max_bytes:
        raise InputError(
            _("{name} is too large (the limit is {limit} MB).").format(name=name, limit=number(max_bytes / 1e6, 0))
        )
    return data, str(name)


def open_image(
    source: ImageSource,
    max_bytes: int = MAX_FILE_BYTES,
    max_side: int | None = WORKING_SIDE,
    budget: PixelBudget | None = None,
) -> tuple[Image.Image, ImageInfo]:
    """Opens, verifies and decodes an image into a mode every consumer understands.

    EXIF rotation is applied, the first frame of an animation is kept, and the result is
    "L", "LA", "RGB" or "RGBA" whatever the file held (16-bit, float, CMYK, LAB...).

    Args:
        source: a path, raw bytes or a binary file object (e.g. a Streamlit upload).
        max_bytes: files larger than this are refused before decoding.
        max_side: the decoded image is shrunk at once to this longest side (None: keep it).
        budget: pixels this caller may still decode; charged from the header, before decoding.

    Returns:
        The decoded PIL image and what the file held.

    Raises:
        InputError: empty, too large, not an image, corrupt or truncated, more than
            ``MAX_PIXELS`` pixels (a decompression bomb), or over the budget.
    """
    data, name = read_image_bytes(source, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise InputError(
                    _("{name} has {width}x{height} pixels, more than the {limit} allowed (possible decompression bomb).").format(
                        name=name, width=width, height=height, limit=number(MAX_PIXELS))
                )  # fmt: skip
            if budget is not None:
                budget.charge(width * height, name)
            probe.verify()  # checks structure and checksums without decoding pixels
            img = Image.open(io.BytesIO(data))
            if max_side is not None:
                img.draft(img.mode, (max_side, max_side))  # JPEG: decode at a reduced scale
            frames = getattr(img, "n_frames", 1)
            img.seek(0)
            img.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(
            _("{name} is too large to decode safely (possible decompression bomb).").format(name=name)
        ) from exc
    except UnidentifiedImageError as exc:
        raise InputError(
            _("{name} is not an image Pillow can read (expected PNG, JPEG, BMP, GIF, WebP or TIFF).").format(name=name)
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(_("{name} is corrupt or truncated: {problem}").format(name=name, problem=exc)) from exc
    if min(img.size) < MIN_SIDE:
        raise InputError(_("{name} has an empty size {size}.").format(name=name, size=img.size))
    info = ImageInfo(img.format or "?", img.mode, width, height, frames)
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not lose the picture
        pass
    img = _common_mode(img)
    if max_side is not None:
        img, _shrunk = downscale(img, max_side)
    return img, info


def _scaled_to_l(arr: np.ndarray) -> Image.Image:
    """Any numeric array (16-bit, 32-bit, float with NaN) -> "L" by its own finite range."""
    arr = np.asarray(arr, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if hi <= lo:
        return Image.new("L", (arr.shape[1], arr.shape[0]), 0)
    scaled = (np.nan_to_num(arr, nan=lo, posinf=hi, neginf=lo) - lo) / (hi - lo) * 255.0
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L")


def _common_mode(img: Image.Image) -> Image.Image:
    """Converts any Pillow mode to "L", "LA", "RGB" or "RGBA" (what displays and models take).

    Why here: 16-bit X-rays, float TIFFs or LAB files otherwise reach code (and browsers)
    that only know 8-bit images.
    """
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode.startswith(("I", "F")):  # I, I;16, I;16B, I;16L, I;16N, F
        return _scaled_to_l(np.asarray(img))
    if mode == "LAB":  # Pillow cannot convert LAB; its first band is the lightness
        return img.getchannel(0)
    if mode in ("P", "PA", "La", "RGBa") or "transparency" in img.info:
        return img.convert("RGBA")
    try:
        return img.convert("RGB")  # CMYK, YCbCr, HSV, RGBX...
    except ValueError as exc:
        raise InputError(
            _("Images in Pillow mode {mode} cannot be used here ({problem}).").format(mode=mode, problem=exc)
        ) from None


def check_image_file(
    path: str | Path, max_bytes: int = MAX_FILE_BYTES, budget: PixelBudget | None = None
) -> str | None:
    """Returns None when ``path`` is a readable image, else the reason it is not.

    Raises:
        InputError: only when ``budget`` runs out (the caller must stop, not skip a file).
    """
    try:
        open_image(path, max_bytes, max_side=256, budget=budget)
    except PixelBudgetError:
        raise
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
        raise InputError(
            _("Expected color_mode 'grayscale' or 'rgb'. Received: {value}").format(value=repr(color_mode))
        )
    img = _common_mode(img)
    if img.mode in ("RGBA", "LA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    target = "L" if color_mode == "grayscale" else "RGB"
    return img.convert(target) if img.mode != target else img


def to_array(img: Image.Image, color_mode: str = "grayscale") -> np.ndarray:
    """Converts an image to float32 in [0, 1]: (H, W) for grayscale, (H, W, 3) for RGB."""
    return np.asarray(to_mode(img, color_mode), dtype=np.float32) / 255.0


def conversion_notices(img: Image.Image, info: ImageInfo) -> list[str]:
    """What to tell a user about how an image was changed on its way to a grayscale view.

    Args:
        img: the image :func:`open_image` returned (its mode made common, maybe shrunk).
        info: what the file held (the other thing :func:`open_image` returned).

    Returns:
        One sentence per change, in the current language, in this order: an animation's first
        frame kept; 16- or 32-bit values rescaled; transparency shown on white; colour made gray;
        a large image downscaled. Empty for a plain 8-bit grayscale image shown whole.
    """
    notices = []
    if info.frames > 1:
        notices.append(
            _("Animated {format} with {frames} frames: showing the first frame.").format(
                format=info.format, frames=info.frames
            )
        )
    if info.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notices.append(
            _("{mode} ({bits}) image: rescaled to 0..255 by its own range.").format(
                mode=info.mode, bits=_("16-bit") if "16" in info.mode else _("32-bit")
            )
        )
    if info.mode in ALPHA_MODES or "transparency" in img.info:
        notices.append(_("Transparent image: transparent areas are shown on white."))
    if info.mode not in ("L", "LA", "1", "F") and not info.mode.startswith("I"):
        notices.append(
            _("{mode} image converted to grayscale (one channel keeps the arithmetic readable).").format(mode=info.mode)
        )
    if max(img.size) < max(info.width, info.height):
        notices.append(
            _("Large image ({w}x{h}) downscaled to {nw}x{nh} to stay live.").format(
                w=info.width, h=info.height, nw=img.size[0], nh=img.size[1]
            )
        )
    return notices


def open_grayscale(
    source: ImageSource, max_side: int | None = WORKING_SIDE, budget: PixelBudget | None = None
) -> tuple[np.ndarray, list[str]]:
    """Opens an image for a grayscale view, and says what was changed to show it.

    Args:
        source: a path, raw bytes or a binary file object (its ``name`` is used in messages).
        max_side: the image is shrunk to this longest side (None: keep its size).
        budget: pixels this caller may still decode (see :class:`PixelBudget`).

    Returns:
        ``(image, notices)``: ``(H, W)`` float32 in [0, 1] (transparency on white) and
        :func:`conversion_notices`.

    Raises:
        InputError: as :func:`open_image`.
    """
    img, info = open_image(source, max_side=max_side, budget=budget)
    return to_array(img, "grayscale"), conversion_notices(img, info)


def load_thumbnail(path: str | Path, fallback_side: int = 28, max_side: int | None = WORKING_SIDE) -> np.ndarray:
    """A stored image (a room's submission) as grayscale float32 ``(H, W)`` in [0, 1], for a thumbnail.

    Goes through :func:`open_image`, so a planted file (a FIFO, a bomb, a huge or broken file)
    is refused like an upload; transparency is shown on white, as the model reads it.

    Returns:
        The image; a white ``fallback_side`` square when the file is missing or unreadable
        (a wall keeps its place rather than failing).
    """
    try:
        img, _info = open_image(path, max_side=max_side)
    except (InputError, OSError):
        return np.ones((fallback_side, fallback_side), np.float32)
    return to_array(img, "grayscale")


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
    img, _info = open_image(source, max_bytes, max_side=None if size is None else max(WORKING_SIDE, *_pair(size)))
    img = to_mode(img, color_mode)
    if size is not None:
        wh = (size, size) if isinstance(size, int) else (size[1], size[0])
        if img.size != wh:
            img = img.resize(wh, Image.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.float32) / 255.0


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else size


def downscale(img: Image.Image, max_side: int) -> tuple[Image.Image, bool]:
    """Shrinks an image so its longer side is at most ``max_side``; says if it did."""
    if max(img.size) <= max_side:
        return img, False
    copy = img.copy()
    copy.thumbnail((max_side, max_side), Image.LANCZOS)
    return copy, True


PNG_DATA_URL = "data:image/png;base64,"


def decode_png_data_url(data: object, max_bytes: int, budget: PixelBudget | None = None) -> Image.Image:
    """A ``data:image/png;base64,...`` URL (what a browser canvas sends) as a grayscale image.

    The URL comes from the browser, so it is untrusted: it is size-checked before base64
    decoding and then goes through :func:`open_image` like any upload. Transparent areas
    (an empty canvas) become white.

    Raises:
        InputError: not a PNG data URL, too large, bad base64 or not a readable image.
    """
    if not isinstance(data, str) or not data.startswith(PNG_DATA_URL):
        raise InputError(_("Expected a PNG drawing (a data:image/png URL). Received something else."))
    if len(data) > max_bytes * 4 // 3 + len(PNG_DATA_URL) + 4:
        raise InputError(
            _("The drawing is larger than {limit} bytes; clear it and draw again.").format(limit=number(max_bytes))
        )
    try:
        raw = base64.b64decode(data[len(PNG_DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        raise InputError(_("The drawing is damaged (bad base64); clear it and draw again.")) from None
    img, _info = open_image(raw, max_bytes=max_bytes, budget=budget)
    return to_mode(img, "grayscale")
