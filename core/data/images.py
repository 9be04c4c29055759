"""Safe photo input: uploaded bytes in, an 8-bit RGB array out, or one clear error."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import LabError

logger = logging.getLogger(__name__)

MAX_BYTES = 30 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = "JPEG, PNG, GIF, WebP, BMP or TIFF"
# The only decoders Pillow may use: none of these calls an external program (PostScript/EPS would run Ghostscript).
PIL_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")


class ImageInputError(LabError, ValueError):
    """A file could not be turned into a photo; the message says why, in plain words."""


def damaged(name: str, exc: BaseException) -> ImageInputError:
    """The one message for a file a decoder chokes on; the details go to the server log."""
    logger.info("could not decode %s: %r", name, exc)
    return ImageInputError("image_damaged", file=name)


def _open(data: bytes, name: str) -> Image.Image:
    """Identifies the format from the content and checks the pixel count before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
    except UnidentifiedImageError:
        raise ImageInputError("image_unknown_format", file=name, formats=FORMATS) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageInputError("image_too_many_pixels", file=name, limit=MAX_PIXELS) from None
    except Exception as exc:  # noqa: BLE001  any decoder failure is the file's problem, never a crash
        raise damaged(name, exc) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageInputError("image_pixels_over", file=name, width=width, height=height, limit=MAX_PIXELS)
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Converts any mode to 8-bit RGB; transparency is flattened on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def load_image(data: bytes, name: str = "the file", max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Turns uploaded bytes into an upright 8-bit RGB array.

    The format is found from the content, never the file name. EXIF
    orientation is applied, palette, grayscale, CMYK, 16-bit and alpha images
    become RGB, and an animation gives its first frame.

    Args:
        data: the file's bytes.
        name: what to call the file in error messages.
        max_bytes: largest file accepted.

    Returns:
        A ``(height, width, 3)`` ``uint8`` array.

    Raises:
        ImageInputError: the file is too large, empty, not an image, or damaged.
    """
    if not data:
        raise ImageInputError("image_empty", file=name)
    if len(data) > max_bytes:
        raise ImageInputError("image_too_large", file=name, mb=len(data) / 1e6, limit_mb=max_bytes / 1e6)
    image = _open(data, name)
    try:
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image) or image
        return np.asarray(_to_rgb(image), dtype=np.uint8).copy()
    except Exception as exc:  # noqa: BLE001  EOFError, struct.error, IndexError... from a decoder
        raise damaged(name, exc) from None


def load_image_file(path: str | Path, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Reads a photo from disk with ``load_image``'s checks.

    Args:
        path: the file.
        max_bytes: largest file accepted; checked before reading.

    Returns:
        A ``(height, width, 3)`` ``uint8`` array.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageInputError("image_cannot_open", file=path.name, reason=exc.strerror) from None
    if size > max_bytes:
        raise ImageInputError("image_too_large", file=path.name, mb=size / 1e6, limit_mb=max_bytes / 1e6)
    return load_image(path.read_bytes(), path.name, max_bytes)


def center_crop_resize(image: np.ndarray, size: int, crop_fraction: float = 0.875) -> np.ndarray:
    """Crops the centre square and resizes it, as the backbones were evaluated.

    Args:
        image: ``(h, w, 3)`` ``uint8`` RGB.
        size: output side in pixels.
        crop_fraction: side of the crop as a fraction of the shorter side.

    Returns:
        A ``(size, size, 3)`` ``uint8`` array (bicubic resampling).
    """
    if not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
    height, width = image.shape[:2]
    side = max(1, int(round(min(height, width) * crop_fraction)))
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(image[top:top + side, left:left + side])
    return np.asarray(crop.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)


def to_png_bytes(image: np.ndarray) -> bytes:
    """Encodes an ``uint8`` RGB (or gray) array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
