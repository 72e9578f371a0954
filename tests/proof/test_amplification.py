"""CPU and memory amplification: small inputs that used to cost minutes of CPU or gigabytes.

Each case sends the attack through the public API and asserts what a user sees; the work is
bounded by construction (a linear-time parser, caps checked before decoding), so the tests
carry no timing assertions: on the old code they run into pytest's timeout instead.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import requests

from tests.support import wait_for

PATHOLOGICAL = ["[", "![", "*[", "[^"]


@pytest.fixture
def render_seconds(app):
    """Set ``MARKDOWN_RENDER_SECONDS`` for one test."""
    saved = app.config["MARKDOWN_RENDER_SECONDS"]

    def set_to(seconds: float) -> None:
        app.config["MARKDOWN_RENDER_SECONDS"] = seconds

    yield set_to
    app.config["MARKDOWN_RENDER_SECONDS"] = saved


def _assert_text(html: str, brackets: int) -> None:
    """One paragraph of text (``*[*[`` is emphasis in CommonMark), every bracket kept, no link."""
    html = html.strip()
    assert html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1
    assert html.count("[") == brackets and "<a" not in html and "<img" not in html


def _headline(http, actor, body: str):
    return http.post(http.base + "/posts", headers=actor.headers,
                     json={"kind": "headline", "title": "t", "text": "x", "body": body})


@pytest.mark.timeout(60)
@pytest.mark.parametrize("unit", PATHOLOGICAL)
def test_markdown_bracket_floods_render_as_text(http, make_account, unit):
    """8,000 of each opener on POST and PATCH are plain text (the old parser took 13 s each)."""
    author = make_account("influencer")
    body = unit * 8000
    r = _headline(http, author, body)
    assert r.status_code == 201, r.text
    _assert_text(r.json()["body_html"], 8000)
    r = http.patch(f"{http.base}/posts/{r.json()['id']}", headers=author.headers,
                   json={"body": "**ok** " + body})
    assert r.status_code == 200, r.text
    assert r.json()["body_html"].startswith("<p><strong>ok</strong> ")
    _assert_text(r.json()["body_html"], 8000)


@pytest.mark.timeout(120)
def test_markdown_100kb_of_openers_is_accepted(http, make_account, render_seconds):
    """The largest body the contract accepts, of every known worst case, renders (linear)."""
    render_seconds(600)  # this test is about the parser, not the deadline
    author = make_account("influencer")
    for unit in PATHOLOGICAL:
        body = unit * (100_000 // len(unit))
        r = _headline(http, author, body)
        assert r.status_code == 201, (unit, r.text[:300])
        _assert_text(r.json()["body_html"], len(body) // len(unit))


def test_markdown_render_deadline_refuses_with_422(http, make_account, render_seconds):
    """Past MARKDOWN_RENDER_SECONDS the body is refused in the contract's shape; short ones pass."""
    render_seconds(0.01)
    author = make_account("influencer")
    r = _headline(http, author, "![" * 50_000)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "body_too_complex" and "body" in r.json()["error"]["fields"]
    r = _headline(http, author, "# 标题\n\n**粗体**")
    assert r.status_code == 201 and "<strong>粗体</strong>" in r.json()["body_html"]
    post = r.json()
    r = http.patch(f"{http.base}/posts/{post['id']}", headers=author.headers,
                   json={"body": "![" * 50_000})
    assert r.status_code == 422 and r.json()["error"]["code"] == "body_too_complex"
    assert http.get(f"{http.base}/posts/{post['id']}").json()["body_html"] == post["body_html"]


# ---------------------------------------------------------------- image decoding memory


def _ffmpeg_image(path: Path, size: str, pix_fmt: str) -> Path:
    """One flat frame written by ffmpeg (the test process never holds the pixels)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=red:s={size}",
                    "-frames:v", "1", "-pix_fmt", pix_fmt, str(path)], check=True, timeout=120)
    return path


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A 1x1 RGBA PNG whose IHDR (with a right CRC) claims ``width`` x ``height``.

    Decoding it would fail (``corrupt``, the data is one pixel); refusing it from the header
    answers ``too_large``: which one comes back shows whether the pixels were decoded.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    raw = zlib.compress(b"\x00\xff\x00\x00\xff")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw)
                     + chunk(b"IEND", b""))
    return path


def _upload(http, actor, path: Path) -> requests.Response:
    with path.open("rb") as f:
        return http.post(http.base + "/media", headers=actor.headers,
                         files={"file": (path.name, f)})


@pytest.fixture(scope="module")
def big_images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big-images")
    return {
        "rgba_7000": _ffmpeg_image(folder / "rgba7000.png", "7000x7000", "rgba"),
        "rgba_wide": _ffmpeg_image(folder / "rgbawide.png", "8200x4100", "rgba"),
        "jpeg_wide": _ffmpeg_image(folder / "photowide.jpg", "8200x4100", "yuvj420p"),
        "header_only": _png_claiming(folder / "claims7000.png", 7000, 7000),
    }


@pytest.mark.timeout(120)
def test_image_of_too_many_pixels_is_refused_from_its_header(http, make_account, big_images):
    """The finding's 7000x7000 RGBA PNG (a small file, 196 MB of pixels) is 413 too_large."""
    owner = make_account("fan")
    assert big_images["rgba_7000"].stat().st_size < 1_000_000
    r = _upload(http, owner, big_images["rgba_7000"])
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too_large" and "7000x7000" in r.json()["error"]["message"]
    # The same header over one pixel of data: decoding would say corrupt, the header check
    # says too_large, so the refusal came before any pixel was decoded.
    r = _upload(http, owner, big_images["header_only"])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    small = _png_claiming(big_images["header_only"].with_name("claims64.png"), 64, 64)
    r = _upload(http, owner, small)
    assert r.status_code == 422 and r.json()["error"]["code"] == "corrupt", r.text


@pytest.mark.timeout(120)
def test_decode_memory_cap_refuses_big_frames_but_jpegs_decode_scaled(http, make_account,
                                                                     big_images):
    """8200x4100 (34 MP) is under the pixel cap; as an RGBA PNG it needs ~270 MB to decode and
    is refused, as a JPEG it is decoded at half scale (DCT scaling, ~67 MB) and stored."""
    owner = make_account("fan")
    r = _upload(http, owner, big_images["rgba_wide"])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    assert "memory" in r.json()["error"]["message"]
    r = _upload(http, owner, big_images["jpeg_wide"])
    assert r.status_code == 202, r.text
    media = r.json()
    assert media["status"] == "ready" and (media["width"], media["height"]) == (4096, 2048)


# ---------------------------------------------------------------- video decoding


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=300)


def _h264(path: Path, size: str, seconds: float) -> Path:
    """An Annex B H.264 elementary stream (streams of different sizes concatenate)."""
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "h264",
            str(path))
    return path


def _size_switch(folder: Path, name: str, first: str, second: str) -> Path:
    """An MP4 whose H.264 stream starts ``first`` and switches to ``second`` mid-stream:
    the header and the probe see only ``first``."""
    joined = folder / f"{name}.h264"
    joined.write_bytes(_h264(folder / f"{name}-a.h264", first, 1).read_bytes()
                       + _h264(folder / f"{name}-b.h264", second, 0.3).read_bytes())
    out = folder / f"{name}.mp4"
    _ffmpeg("-f", "h264", "-r", "10", "-i", str(joined), "-c", "copy", str(out))
    return out


def _ffmpeg_video(path: Path, size: str, seconds: float) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
    return path


def _lying_mkv(folder: Path, seconds: int, claimed: int) -> Path:
    """A Matroska file of ``seconds`` whose Segment Duration (and DURATION tag) claim
    ``claimed``: the header is all a probe reads."""
    real = folder / "long.mkv"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=64x64:rate=10:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(real))
    data = bytearray(real.read_bytes())
    at = data.find(b"\x44\x89\x88")  # EBML Duration, an 8-byte float of milliseconds
    assert at > 0
    data[at + 3:at + 11] = struct.pack(">d", claimed * 1000.0)
    tag = f"00:00:{seconds:02d}.000000000".encode()
    data = data.replace(tag, f"00:00:{claimed:02d}.000000000".encode())
    out = folder / "lying.mkv"
    out.write_bytes(bytes(data))
    return out


@pytest.fixture(scope="module")
def hostile_videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile-videos")
    return {
        "grows": _size_switch(folder, "grows", "16x16", "4096x4096"),
        "changes": _size_switch(folder, "changes", "16x16", "64x64"),
        "lying": _lying_mkv(folder, seconds=8, claimed=1),
        "hd": _ffmpeg_video(folder / "hd.mp4", "1920x1080", 2),
    }


def _processed_media(http, owner, path: Path) -> dict:
    r = _upload(http, owner, path)
    assert r.status_code == 202, r.text
    media_id = r.json()["id"]

    def finished():
        media = http.get(f"{http.base}/media/{media_id}", headers=owner.headers).json()
        return media if media["status"] != "processing" else None

    return wait_for(finished, timeout=90)


@pytest.mark.timeout(180)
def test_video_whose_frames_grow_mid_stream_fails_too_large(http, make_account,
                                                            hostile_videos):
    """16x16 then 4096x4096 (16.8 MP, over the 8.3 MP limit) passes the probe as 16x16; the
    decoder refuses the first big frame instead of decoding 4K frames."""
    owner = make_account("fan")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", str(hostile_videos["grows"])],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "16,16"  # what the header says
    media = _processed_media(http, owner, hostile_videos["grows"])
    assert media["status"] == "failed", media
    assert media["error"]["code"] == "too_large" and "mid-stream" in media["error"]["message"]


@pytest.mark.timeout(180)
def test_video_whose_frame_size_changes_mid_stream_fails(http, make_account, hostile_videos):
    """A change that stays under the pixel limit still fails: the plan was made for 16x16."""
    owner = make_account("fan")
    media = _processed_media(http, owner, hostile_videos["changes"])
    assert media["status"] == "failed", media
    assert media["error"]["code"] == "unsupported_format"
    assert "changes mid-stream" in media["error"]["message"]


@pytest.mark.timeout(180)
def test_video_longer_than_its_header_says_fails_too_long(http, make_account, hostile_videos,
                                                          app, monkeypatch):
    """An MKV that claims 1 s and holds 8 s, with a 3 s limit: measured while decoding."""
    monkeypatch.setitem(app.config, "MEDIA_MAX_SECONDS", 3)
    owner = make_account("fan")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(hostile_videos["lying"])],
                           capture_output=True, text=True, check=True)
    assert float(probe.stdout) == 1.0  # what the header says
    media = _processed_media(http, owner, hostile_videos["lying"])
    assert media["status"] == "failed", media
    assert media["error"]["code"] == "too_long", media["error"]


@pytest.mark.timeout(180)
def test_ffmpeg_runs_under_its_memory_limit(http, make_account, hostile_videos, app,
                                            monkeypatch):
    """MEDIA_FFMPEG_MEMORY_MB is a real address-space limit on the child: at 400 MB ffmpeg
    starts (its libraries need ~300 MB) but cannot transcode 1080p, and the job fails
    too_large instead of the machine swapping; the default transcodes the same file."""
    owner = make_account("fan")
    monkeypatch.setitem(app.config, "MEDIA_FFMPEG_MEMORY_MB", 400)
    media = _processed_media(http, owner, hostile_videos["hd"])
    assert media["status"] == "failed", media
    assert media["error"]["code"] == "too_large" and "memory" in media["error"]["message"]
    monkeypatch.setitem(app.config, "MEDIA_FFMPEG_MEMORY_MB", 3072)
    media = _processed_media(http, owner, hostile_videos["hd"])
    assert media["status"] == "ready", media
