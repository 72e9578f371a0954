"""Image uploads: prove they decode, then keep only pixels we re-encoded ourselves.

Decoding the whole image with Pillow is the verification (a polyglot or truncated file fails
here). The stored image is a fresh encode of the upright pixels: no EXIF (so no GPS), no XMP,
no text chunks, no trailing bytes; the ICC profile is kept so colours stay right.
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
MAX_PIXELS = 50_000_000  # 50 MP: phone cameras go to 48 MP
MAX_SIDE = 4096  # the stored image is scaled down to this
THUMB_SIDE = 320


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


def _open_verified(path: Path) -> Image.Image:
    try:
        with Image.open(path) as probe:
            probe.verify()  # structure and checksums, without decoding
        image = Image.open(path)
        if image.format not in FORMATS:
            raise MediaRejected("unsupported_format", f"{image.format} images are not accepted")
        width, height = image.size
        if width * height > MAX_PIXELS or max(width, height) > 4 * MAX_SIDE:
            raise MediaRejected("too_large", f"{width}x{height} is too large")
        image.load()  # the full decode: truncated or corrupt data fails here
        return image
    except MediaRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise MediaRejected("unsupported_format", "not a supported image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRejected("corrupt", f"the image could not be decoded ({exc})") from None


def process_image(src: str | os.PathLike, out_dir: str | os.PathLike) -> ImageResult:
    """Verify, orient, strip and re-encode ``src``; write the image and a thumbnail."""
    src, out = Path(src), Path(out_dir)
    if src.stat().st_size == 0:
        raise MediaRejected("corrupt", "the file is empty")
    kind = sniff_file(src)
    if kind is None or kind[0] != "image":
        raise MediaRejected("unsupported_format", "not a JPEG, PNG or WebP image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open_verified(src)
    fmt = image.format
    icc = image.info.get("icc_profile")
    image.seek(0)  # animated WebP/PNG: the first frame
    upright = ImageOps.exif_transpose(image)
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

    thumb = upright.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
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
