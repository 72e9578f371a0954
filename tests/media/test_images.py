"""Images: decoded to prove them, re-encoded upright with no metadata left, thumbnailed."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from media.images import process_image
from media.probe import MediaRejected

GPS_IFD = 0x8825


def _jpeg_with_gps_and_orientation(path):
    image = Image.new("RGB", (80, 40), "white")
    image.paste((255, 0, 0), (0, 0, 40, 40))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 24.0, 20.0)}
    image.save(path, "JPEG", exif=exif)
    with Image.open(path) as check:
        assert check.getexif().get_ifd(GPS_IFD), "the fixture must really carry GPS"


def test_jpeg_comes_out_upright_with_no_exif_or_gps(tmp_path):
    src = tmp_path / "photo.jpg"
    _jpeg_with_gps_and_orientation(src)
    result = process_image(src, tmp_path / "out")
    assert (result.format, result.width, result.height) == ("jpeg", 40, 80)
    data = (tmp_path / "out" / result.image).read_bytes()
    assert b"Exif" not in data and b"PhoneMaker" not in data
    with Image.open(tmp_path / "out" / result.image) as out:
        assert not out.getexif()
        assert "exif" not in out.info
        top = out.getpixel((20, 5))
        assert top[0] > 200 and top[1] < 60  # red on top: rotated upright
    with Image.open(tmp_path / "out" / result.thumbnail) as thumb:
        assert max(thumb.size) <= 320 and thumb.format == "JPEG"


def test_png_text_chunks_and_webp_exif_are_dropped(tmp_path):
    png = tmp_path / "a.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "37.78,-122.40")
    Image.new("RGBA", (30, 20), (0, 0, 255, 128)).save(png, pnginfo=info)
    result = process_image(png, tmp_path / "png")
    assert result.format == "png"
    assert b"37.78" not in (tmp_path / "png" / result.image).read_bytes()

    webp = tmp_path / "a.webp"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (30, 20), "green").save(webp, "WEBP", exif=exif)
    result = process_image(webp, tmp_path / "webp")
    assert result.format == "webp"
    assert b"PhoneMaker" not in (tmp_path / "webp" / result.image).read_bytes()


def test_bad_images_are_rejected(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), "green").save(buf, "JPEG")
    cases = {
        "truncated.jpg": (buf.getvalue()[: len(buf.getvalue()) // 2], "corrupt"),
        "fake.jpg": (b"\xff\xd8\xff\xe0" + b"garbage" * 50, "corrupt"),
        "empty.png": (b"", "corrupt"),
        "text.jpg": (b"hello world", "unsupported_format"),
    }
    for name, (data, code) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(MediaRejected) as err:
            process_image(tmp_path / name, tmp_path / "out")
        assert err.value.code == code, name
