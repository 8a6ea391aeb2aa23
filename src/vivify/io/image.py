"""Still-image input/output: any common image file to (H, W, 3) uint8 RGB, and back.

Decisions:
    * EXIF orientation is applied, so the array is what a photo viewer shows.
    * Transparency (RGBA, LA, palette with a transparent colour) is composited over *white*:
      portraits cut out with a transparent background are meant to be seen on a light page,
      and black would read as a dark backdrop to the face models.
    * 16-bit greyscale is scaled by 255/65535 with rounding (65535 -> 255, 32768 -> 128), not
      clipped. 16-bit RGB(A) PNG/TIFF is reduced to 8 bits by Pillow itself, which keeps the
      high byte (at most one level away from the rounded value).
    * Images over ``MAX_PIXELS`` are refused before decoding (decompression-bomb guard).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from vivify.errors import InputError
from vivify.io.atomic import atomic_path
from vivify.io.files import check_readable_file

logger = logging.getLogger(__name__)

#: Extensions treated as still images (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
)

#: Largest image accepted, in pixels (100 megapixels: far beyond any portrait, small enough
#: that the decoded RGB array, ~300 MB, cannot exhaust memory).
MAX_PIXELS = 100_000_000

# Pillow format name for each extension save_image can write.
_SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
# Metadata texts save_image writes, and their EXIF tags (ImageDescription, Software).
_TEXT_KEYS = ("comment", "description", "software")
_EXIF_TAGS = {"description": 0x010E, "software": 0x0131}


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has a still-image extension (by name only; see ``media.media_kind``)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    """Map 0..65535 integers to 0..255 uint8, rounding to nearest (v * 255 / 65535)."""
    v = np.clip(values.astype(np.int64), 0, 65535)
    return ((v * 255 + 32767) // 65535).astype(np.uint8)


def _composite_over_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA -> (H, W, 3) uint8 RGB, alpha-blended over a white background."""
    rgb = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:4].astype(np.uint32)
    # Integer blend with rounding: rgb * a/255 + 255 * (1 - a/255).
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (H, W, 3) uint8 by repeating the channel."""
    return np.repeat(grey[..., None], 3, axis=2)


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert a loaded Pillow image of any mode to (H, W, 3) uint8 RGB."""
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8).copy()
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale (PNG/TIFF). Mode "I" is 32-bit but in practice holds 16-bit data
        # (older Pillow opened 16-bit PNGs as "I"), so it gets the same 0..65535 scaling.
        return _grey_to_rgb(_scale_16bit(np.asarray(img)))
    if mode == "F":
        # Float images conventionally hold 0..1 (HDR/TIFF exports); accept 0..255 as well.
        data = np.nan_to_num(np.asarray(img, dtype=np.float64))
        scale = 255.0 if data.size and data.max() <= 1.0 else 1.0
        return _grey_to_rgb(np.clip(np.rint(data * scale), 0, 255).astype(np.uint8))
    if mode in ("1", "L"):
        return _grey_to_rgb(np.asarray(img.convert("L"), dtype=np.uint8))
    if mode in ("RGBA", "RGBa", "LA", "La", "PA", "P"):
        # Palette images may carry a transparent index; going through RGBA handles both cases
        # (alpha is 255 everywhere when there is none).
        return _composite_over_white(np.asarray(img.convert("RGBA"), dtype=np.uint8))
    # CMYK, YCbCr, LAB, HSV, ...: Pillow's own conversion (CMYK JPEGs from Adobe tools are
    # already un-inverted by the decoder).
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB, EXIF-orientation applied.

    Args:
        path: image file (JPEG, PNG, WebP, BMP, TIFF, GIF (first frame), ...).

    Returns:
        (H, W, 3) uint8 RGB array (a fresh array; the file is never modified).

    Raises:
        InputError: missing path, a folder, an empty file, not an image, a corrupt or
            truncated image, or more than ``MAX_PIXELS`` pixels.
    """
    path = Path(path)
    check_readable_file(path)
    img = _decode(path)
    try:
        img = ImageOps.exif_transpose(img)
    except Exception as exc:  # malformed EXIF must not make an otherwise valid image unreadable
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", path, exc)
    return _to_rgb_array(img)


def _decode(path: Path) -> Image.Image:
    """Open and fully decode ``path`` with Pillow, turning every failure into ``InputError``."""
    try:
        with open(path, "rb") as fh, warnings.catch_warnings():
            # We enforce our own (clearer) size limit below; Pillow's warning would be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fh)  # lazy: reads the header only
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise InputError(
                    f"image is too large ({width}x{height} pixels; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels)",
                    path,
                )
            # Force the full decode now, while the file is open: a truncated or corrupt file
            # fails here rather than later, somewhere far from the file name.
            img.load()
            return img
    except PermissionError as exc:
        raise InputError("permission denied", path) from exc
    except UnidentifiedImageError as exc:
        raise InputError("not an image file, or an image format that cannot be read", path) from exc
    except Image.DecompressionBombError as exc:
        raise InputError(f"image is too large ({exc})", path) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated/corrupt data as OSError (sometimes SyntaxError/ValueError).
        raise InputError(f"corrupt or truncated image ({exc})", path) from exc


def save_image(
    path: str | Path, rgb: np.ndarray, *, quality: int = 95, metadata: Mapping[str, str] | None = None
) -> None:
    """Write an RGB image atomically; the format follows the extension (.png, .jpg/.jpeg, .webp).

    Args:
        path: output file; its folder is created if missing. An existing file is replaced only
            once the new one is completely written.
        rgb: (H, W, 3) uint8 RGB array.
        quality: JPEG/WebP quality (1-100); ignored for PNG (lossless).
        metadata: ``comment``, ``description`` and ``software`` texts (others are ignored): PNG
            text chunks; EXIF ImageDescription and Software (JPEG, WebP) and the JPEG comment.

    Raises:
        ValueError: unsupported extension, or ``rgb`` not an (H, W, 3) uint8 array.
    """
    path = Path(path)
    fmt = _SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot save an image as {path.suffix or 'no extension'!r}; use one of {sorted(_SAVE_FORMATS)}"
        )
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(
            "expected an (H, W, 3) uint8 RGB array, got "
            f"{getattr(rgb, 'shape', type(rgb))} {getattr(rgb, 'dtype', '')}"
        )
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"cannot save an empty image of shape {rgb.shape}")
    img = Image.fromarray(np.ascontiguousarray(rgb))
    options: dict[str, object] = {}
    if fmt == "JPEG":
        options = {"quality": quality, "subsampling": 0}  # 4:4:4 keeps fine colour edges
    elif fmt == "WEBP":
        options = {"quality": quality}
    if metadata:
        options.update(_metadata_options(fmt, metadata))
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **options)


def _metadata_options(fmt: str, metadata: Mapping[str, str]) -> dict[str, object]:
    """Pillow save options that store ``metadata`` in a ``fmt`` file."""
    if fmt == "PNG":
        info = PngInfo()
        for key in _TEXT_KEYS:
            if metadata.get(key):
                info.add_itxt(key.capitalize(), metadata[key])  # UTF-8 text chunks
        return {"pnginfo": info}
    exif = Image.Exif()
    for key, tag in _EXIF_TAGS.items():
        if metadata.get(key):
            exif[tag] = metadata[key]
    options: dict[str, object] = {"exif": exif.tobytes()}
    if fmt == "JPEG" and metadata.get("comment"):
        options["comment"] = metadata["comment"].encode()
    return options


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``comment``, ``description`` and ``software`` texts :func:`save_image` writes, as
    far as the file has them (an image from elsewhere may have none)."""
    path = Path(path)
    with _decode(path) as img:
        found: dict[str, str] = {}
        texts = getattr(img, "text", None) or {}  # PNG text chunks
        for key in _TEXT_KEYS:
            if texts.get(key.capitalize()):
                found[key] = str(texts[key.capitalize()])
        exif = img.getexif()
        for key, tag in _EXIF_TAGS.items():
            if key not in found and isinstance(exif.get(tag), str):
                found[key] = exif[tag]
        comment = img.info.get("comment")
        if "comment" not in found and comment:
            found["comment"] = (
                comment.decode(errors="replace") if isinstance(comment, bytes) else str(comment)
            )
    return found
