"""Real test videos made by ffmpeg's lavfi sources, plus the hostile set.

Clips are short (1-2.5 s) and small so the suite stays fast on two cores; each is made once
per session, on first use. ``probe_json`` is the assertion side: plain ffprobe on outputs.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FF = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
X265 = ["-x265-params", "log-level=error"]


def _lavfi(size: str, rate: int, seconds: float, audio: bool = True,
           src: str = "testsrc2") -> list[str]:
    args = ["-f", "lavfi", "-i", f"{src}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    return args


# name -> (file name, ffmpeg arguments before the output path)
CLIPS: dict[str, tuple[str, list[str]]] = {
    # 1080p H.264 MP4 with audio: the full four-rung ladder.
    "h264_1080": ("h264_1080.mp4", _lavfi("1920x1080", 30, 2.5) + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-shortest"]),
    # 720p H.264 that already meets the output rules: the top rung is stream-copied.
    "compliant_720": ("compliant_720.mp4", _lavfi("1280x720", 30, 4.5) + [
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-maxrate", "2M",
        "-bufsize", "4M", "-c:a", "aac", "-shortest"]),
    # iPhone-like: HEVC in MOV, 10-bit, portrait by rotation metadata, GPS location.
    # Left half red, right half blue, so "upright" can be checked on the output pixels.
    "hevc_rotated_mov": ("hevc_rotated_src.mov", [
        "-f", "lavfi", "-i", "color=c=red:s=428x480:r=30:d=1.5",
        "-f", "lavfi", "-i", "color=c=blue:s=426x480:r=30:d=1.5",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1.5",
        "-filter_complex", "[0:v][1:v]hstack[v]", "-map", "[v]", "-map", "2:a",
        "-c:v", "libx265", *X265, "-preset", "ultrafast", "-tag:v", "hvc1",
        "-pix_fmt", "yuv420p10le", "-c:a", "aac", "-shortest",
        "-metadata", "location=+37.7858-122.4064/", "-metadata", "make=Apple"]),
    # VP9 WebM with Opus.
    "vp9_webm": ("vp9.webm", _lavfi("426x240", 30, 1.5) + [
        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
        "-c:a", "libopus", "-shortest"]),
    # MPEG-4 Part 2 in AVI with MP3.
    "mpeg4_avi": ("mpeg4.avi", _lavfi("320x240", 25, 1.5) + [
        "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", "-shortest"]),
    # Small H.264 + AAC MP4: the API tests' everyday upload.
    "small": ("small.mp4", _lavfi("480x270", 30, 1.2) + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-shortest"]),
    # No audio track at all.
    "no_audio": ("no_audio.mp4", _lavfi("640x360", 30, 1.5, audio=False) + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
    # Variable frame rate: irregular frame intervals.
    "vfr": ("vfr.mp4", _lavfi("640x360", 60, 2, audio=False) + [
        "-vf", "select='not(mod(n\\,3))+not(mod(n\\,7))'", "-fps_mode", "vfr",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
    # 120 fps phone slow-motion style.
    "fps120": ("fps120.mp4", _lavfi("640x360", 120, 1.5) + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-shortest"]),
    # 10-bit HDR10 (PQ, BT.2020) HEVC.
    "hdr10": ("hdr10.mov", _lavfi("640x360", 30, 1, audio=False) + [
        "-c:v", "libx265", *X265, "-preset", "ultrafast", "-tag:v", "hvc1",
        "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "smpte2084",
        "-colorspace", "bt2020nc"]),
    # Odd dimensions and 4:4:4 chroma.
    "odd_dims": ("odd.mp4", _lavfi("321x241", 30, 1, audio=False) + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"]),
    # Audio only (an .m4a is an MP4 container).
    "audio_only": ("audio.m4a", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"]),
    # Wider than 4096 px (few pixels), and above 8.3 MP (not wider than 4096).
    "too_wide": ("wide.mp4", _lavfi("4200x64", 1, 1, audio=False) + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
    "too_many_pixels": ("big.mp4", _lavfi("2900x2900", 1, 1, audio=False, src="testsrc") + [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
}


def probe_json(path: str | os.PathLike) -> dict:
    """Plain ffprobe of an output we made (trusted), streams + format + side data."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                          "-print_format", "json", str(path)], capture_output=True, check=True)
    return json.loads(out.stdout)


def keyframes(path: str | os.PathLike) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=pts_time,flags", "-of", "csv=p=0", str(path)],
                         capture_output=True, check=True, text=True)
    times = []
    for line in out.stdout.split():
        t, flags = line.split(",")[:2]
        if "K" in flags:
            times.append(round(float(t), 3))
    return sorted(times)


def _rotate(src: Path, dst: Path) -> None:
    """Set a display matrix (portrait phone video) without re-encoding."""
    subprocess.run(FF + ["-i", str(src), "-c", "copy", "-map_metadata", "0",
                         "-metadata:s:v:0", "rotate=270", str(dst)], check=True)


class Clips:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()

    def __call__(self, name: str) -> Path:
        filename, args = CLIPS[name]
        target = self.folder / (filename if name != "hevc_rotated_mov" else "hevc_rotated.mov")
        with self.lock:
            if not target.exists():
                made = self.folder / filename
                subprocess.run(FF + args + [str(made)], check=True, timeout=120)
                if name == "hevc_rotated_mov":
                    _rotate(made, target)
        return target


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Clips:
    """``clip("h264_1080")`` -> path of a real test video, made on first use."""
    return Clips(tmp_path_factory.mktemp("clips"))


# ---------------------------------------------------------------- hostile files


class Canary:
    """Tells whether anything opened a local file or fetched a URL we planted.

    ``fifo`` is a named pipe: a reader opening it unblocks our writer thread, so an open is
    seen even if nothing is read. ``url`` is an HTTP server on loopback that logs requests.
    """

    def __init__(self, folder: Path) -> None:
        self.fifo = folder / "canary.ts"
        os.mkfifo(self.fifo)
        self.opened = threading.Event()
        self._closing = False
        self.requests: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                canary.requests.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/canary.ts"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._closing:
            with open(self.fifo, "wb"):  # blocks until someone opens the FIFO for reading
                if not self._closing:
                    self.opened.set()

    @property
    def hit(self) -> bool:
        return self.opened.is_set() or bool(self.requests)

    def close(self) -> None:
        self._closing = True
        fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)  # release the watcher
        os.close(fd)
        self.httpd.shutdown()


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _chunks(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        yield cid, data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)


def avi_with_gab2(plain: bytes, payload: bytes) -> bytes:
    """An AVI whose extra text stream carries ``payload`` as GAB2 subtitles (CVE-2017-9993)."""
    assert plain[:4] == b"RIFF" and plain[8:12] == b"AVI "
    parts = []
    name = "evil".encode("utf-16-le") + b"\0\0"
    gab2 = (b"GAB2\0" + struct.pack("<H", 2) + struct.pack("<I", len(name)) + name
            + struct.pack("<HI", 4, len(payload)) + payload)
    for cid, body in _chunks(plain, 12, len(plain)):
        if cid == b"LIST" and body[:4] == b"hdrl":
            sub = []
            for c2, b2 in _chunks(body, 4, len(body)):
                if c2 == b"avih":
                    b2 = bytearray(b2)
                    struct.pack_into("<I", b2, 24, 2)  # dwStreams
                    b2 = bytes(b2)
                sub.append(_chunk(c2, b2))
            strh = struct.pack("<4s4sIHHIIIIIIII4h", b"txts", b"\0\0\0\0", 0, 0, 0, 0, 1, 25, 0,
                               1, len(gab2), 0xFFFFFFFF, 0, 0, 0, 0, 0)
            sub.append(_chunk(b"LIST", b"strl" + _chunk(b"strh", strh) + _chunk(b"strf", b"")))
            parts.append(_chunk(b"LIST", b"hdrl" + b"".join(sub)))
        elif cid == b"LIST" and body[:4] == b"movi":
            parts.append(_chunk(b"LIST", b"movi" + _chunk(b"01tx", gab2) + body[4:]))
        elif cid == b"idx1":
            continue
        else:
            parts.append(_chunk(cid, body))
    body = b"AVI " + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.fixture
def canary(tmp_path):
    c = Canary(tmp_path)
    yield c
    c.close()


@pytest.fixture
def hostile(tmp_path, canary, clip):
    """``hostile(kind)`` -> path of a hostile upload named like a video."""

    def make(kind: str) -> Path:
        playlist = (f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:1\n"
                    f"#EXTINF:1.0,\n{canary.fifo}\n#EXTINF:1.0,\nfile://{canary.fifo}\n"
                    f"#EXTINF:1.0,\n{canary.url}\n#EXT-X-ENDLIST\n").encode()
        path = tmp_path / f"{kind}.mp4"
        if kind == "m3u8":
            path.write_bytes(playlist)
        elif kind == "avi_playlist":
            plain_path = tmp_path / "plain.avi"
            subprocess.run(FF + _lavfi("64x64", 10, 0.5, audio=False) + [
                "-c:v", "mpeg4", str(plain_path)], check=True)
            plain = plain_path.read_bytes()
            path = tmp_path / "avi_playlist.avi"
            path.write_bytes(avi_with_gab2(plain, playlist))
        elif kind == "concat":
            path.write_bytes(f"ffconcat version 1.0\nfile '{canary.fifo}'\nfile '{canary.url}'\n"
                             .encode())
        elif kind == "text":
            path.write_bytes("just some text, 你好\n".encode() * 20)
        elif kind == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr("video.mp4", b"\0" * 100)
            path.write_bytes(buf.getvalue())
        elif kind == "jpeg":
            from PIL import Image

            buf = io.BytesIO()
            Image.new("RGB", (64, 48), "green").save(buf, "JPEG")
            path.write_bytes(buf.getvalue())
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "truncated":  # moov at the end, cut off
            data = clip("no_audio").read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif kind == "truncated_faststart":  # index intact, media data cut off
            src = tmp_path / "fs.mp4"
            subprocess.run(FF + ["-i", str(clip("no_audio")), "-c", "copy", "-movflags",
                                 "+faststart", str(src)], check=True)
            data = src.read_bytes()
            path.write_bytes(data[: int(len(data) * 0.4)])
        else:
            raise KeyError(kind)
        return path

    return make


# ---------------------------------------------------------------- S3 (moto's server, real HTTP)

S3_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
                  "region_name": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's standalone S3 server on a random loopback port; boto3 talks HTTP to it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint):
    import uuid

    import boto3

    name = f"media-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, **S3_CREDENTIALS).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """Credentials for code that builds its own boto3 client from the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_endpoint
