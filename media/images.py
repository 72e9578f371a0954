"""Image uploads: prove they decode, then keep only pixels we re-encoded ourselves.

Decoding the whole image with Pillow is the verification (a polyglot or truncated file fails
here). The stored image is a fresh encode of the upright pixels: no EXIF (so no GPS), no XMP,
no text chunks, no trailing bytes; the ICC profile is kept so colours stay right.

Decoding is bounded before it starts: ``Image.open`` reads only the header, and an image
whose pixels (``ImageLimits.max_pixels``) or decoded size (``max_decode_bytes``, the frame in
Pillow's memory layout times the working copies) are over the limits is refused
``too_large`` without decoding. Big JPEGs are decoded at 1/2, 1/4 or 1/8 scale (libjpeg's
DCT scaling, ``draft``) when the stored image is smaller anyway.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from media.probe import MediaRejected, sniff_file

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
           "WEBP": ("webp", "image/webp")}
MAX_SIDE = 4096  # the stored image is scaled down to this
THUMB_SIDE = 320
WORKING_COPIES = 2  # the decoded frame plus one converted or resized copy at a time
# Bytes per pixel in Pillow's memory (RGB is stored in 4 bytes); unknown modes count 4.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}


@dataclass(frozen=True)
class ImageLimits:
    """Caps checked from the header, before any pixel is decoded (from ``app/config.py``)."""

    max_pixels: int = 40_000_000  # IMAGE_MAX_PIXELS
    max_decode_bytes: int = 256 * 1024 * 1024  # IMAGE_MAX_DECODE_MB


@dataclass
class ImageResult:
    format: str
    content_type: str
    width: int
    height: int
    image: str  # file names inside the output folder
    thumbnail: str
    thumb_width: int
    thumb_height: int


def decode_bytes(image: Image.Image) -> int:
    """What decoding ``image`` at its current (draft) size needs, working copies included."""
    width, height = image.size
    return width * height * _BYTES_PER_PIXEL.get(image.mode, 4) * WORKING_COPIES


def _draft_jpeg(image: Image.Image) -> None:
    """Decode a big JPEG at the smallest DCT scale whose long side stays >= 3/4 MAX_SIDE."""
    width, height = image.size
    scale = 1
    while scale < 8 and max(width, height) // (scale * 2) >= MAX_SIDE * 3 // 4:
        scale *= 2
    if scale > 1:
        image.draft(image.mode, (-(-width // scale), -(-height // scale)))


def _check_size(image: Image.Image, limits: ImageLimits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels or max(width, height) > 4 * MAX_SIDE:
        raise MediaRejected("too_large", f"{width}x{height} is too large "
                            f"(at most {limits.max_pixels:,} pixels, {4 * MAX_SIDE} a side)")
    if image.format == "JPEG":
        _draft_jpeg(image)
    if decode_bytes(image) > limits.max_decode_bytes:
        raise MediaRejected("too_large", f"{width}x{height} {image.mode} needs too much memory "
                            f"to decode (over {limits.max_decode_bytes // 2**20} MB)")


def _open_verified(path: Path, limits: ImageLimits) -> Image.Image:
    try:
        image = Image.open(path)  # the header only
        try:
            if image.format not in FORMATS:
                raise MediaRejected("unsupported_format",
                                    f"{image.format} images are not accepted")
            _check_size(image, limits)  # before anything reads the pixels
            with Image.open(path) as probe:
                probe.verify()  # structure and checksums, without decoding
            image.load()  # the full decode: truncated or corrupt data fails here
        except BaseException:
            image.close()
            raise
        return image
    except MediaRejected:
        raise
    except Image.DecompressionBombError:
        raise MediaRejected("too_large", "the image has too many pixels") from None
    except UnidentifiedImageError:
        raise MediaRejected("unsupported_format", "not a supported image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRejected("corrupt", f"the image could not be decoded ({exc})") from None


def process_image(src: str | os.PathLike, out_dir: str | os.PathLike,
                  limits: ImageLimits = ImageLimits()) -> ImageResult:
    """Verify, orient, strip and re-encode ``src``; write the image and a thumbnail."""
    src, out = Path(src), Path(out_dir)
    if src.stat().st_size == 0:
        raise MediaRejected("corrupt", "the file is empty")
    kind = sniff_file(src)
    if kind is None or kind[0] != "image":
        raise MediaRejected("unsupported_format", "not a JPEG, PNG or WebP image")
    # Pillow's own guard agrees with ours (it refuses at open what is twice over it).
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # _check_size decides
        image = _open_verified(src, limits)
    fmt = image.format
    icc = image.info.get("icc_profile")
    image.seek(0)  # animated WebP/PNG: the first frame
    upright = ImageOps.exif_transpose(image, in_place=True) or image  # no second frame
    if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    elif upright.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    if max(upright.size) > MAX_SIDE:
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    ext, content_type = FORMATS[fmt]
    out.mkdir(parents=True, exist_ok=True)
    name = f"image.{ext}"
    params: dict = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        params.update(quality=88, optimize=True, progressive=True)
    elif fmt == "WEBP":
        params.update(quality=88)
    upright.save(out / name, fmt, **params)  # no exif=..., so none is written

    if max(upright.size) > THUMB_SIDE:  # resized straight from the frame, no full copy
        thumb = ImageOps.contain(upright, (THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    else:
        thumb = upright.copy()
    if thumb.mode in ("RGBA", "LA", "P"):
        flat = Image.new("RGB", thumb.size, "white")
        rgba = thumb.convert("RGBA")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        thumb = flat
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    thumb.save(out / "thumb.jpg", "JPEG", quality=82, optimize=True)
    return ImageResult(format=fmt.lower(), content_type=content_type, width=upright.width,
                       height=upright.height, image=name, thumbnail="thumb.jpg",
                       thumb_width=thumb.width, thumb_height=thumb.height)
