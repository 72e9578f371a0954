"""Decide what an uploaded file is before anything decodes it, and refuse what is unsafe.

Defence in layers: our own magic-byte sniff picks the container (ffmpeg's content probing
never runs: the demuxer is forced with ``-f``); ffprobe and ffmpeg get a protocol whitelist of
``file`` and a demuxer whitelist, so playlists (HLS, concat) and anything referencing other
files or URLs cannot be opened; then size, duration and resolution limits. Rejections carry
the contract's error codes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

PROTOCOL_WHITELIST = "file"
# Demuxers an upload may use (names as ffmpeg knows them; mov covers mp4/m4v/3gp/3g2).
FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi"
PROBE_TIMEOUT = 60
PROBE_MEMORY_BYTES = 1 << 30  # MEDIA_FFPROBE_MEMORY_MB
# Decoders get a frame-size cap (``-max_pixels``): the probe's limit plus the stride padding
# libavcodec adds (widths are aligned up to 64 before the check).
DECODE_ALIGN = 64
TOO_MANY_PIXELS = "exceeds specified max pixel count"

log = logging.getLogger(__name__)


class MediaRejected(Exception):
    """An upload we will not process; ``code`` is one of the contract's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What an upload may be: seconds, pixels per side, pixels per frame."""

    max_seconds: float = 600
    max_side: int = 4096
    max_pixels: int = 8_294_400  # 8.3 MP, i.e. 3840x2160
    probe_memory_bytes: int = PROBE_MEMORY_BYTES

    @property
    def decode_max_pixels(self) -> int:
        """What a decoder may allocate per frame: a bigger frame (a size change mid-stream)
        is a decoding error, not 838 MB of 8K frames."""
        return self.max_pixels + DECODE_ALIGN * self.max_side


@dataclass
class VideoInfo:
    """What ffprobe found, with dimensions as displayed (rotation applied)."""

    path: str
    demuxer: str
    duration: float
    size_bytes: int
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    codec: str
    profile: str | None
    pix_fmt: str
    fps: float
    avg_fps: float
    color_transfer: str | None
    bit_rate: int | None
    has_audio: bool
    audio_codec: str | None = None
    audio_profile: str | None = None
    audio_channels: int = 0
    audio_sample_rate: int = 0
    sar: Fraction = field(default_factory=lambda: Fraction(1))

    @property
    def hdr(self) -> bool:
        return self.color_transfer in ("smpte2084", "arib-std-b67")

    @property
    def vfr(self) -> bool:
        return abs(self.fps - self.avg_fps) > 0.01 * max(self.fps, 1)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, demuxer) from a file's first bytes: ("video", "mov"), ("image", "jpeg"), or None.

    Only containers we accept are recognised; everything else (text, playlists, archives)
    is None. The decision never depends on the file name.
    """
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free",
                                         b"skip", b"pnot"):
        if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"heix",
                                                   b"mif1", b"msf1"):
            return None  # HEIF/AVIF stills: not a supported image or video
        return ("video", "mov")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ("video", "matroska")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ("video", "avi")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ("image", "webp")
    if head.startswith(b"\xff\xd8\xff"):
        return ("image", "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ("image", "png")
    return None


def sniff_file(path: str | os.PathLike) -> tuple[str, str] | None:
    with open(path, "rb") as fh:
        return sniff(fh.read(64))


def _rate(value: str | None) -> float:
    try:
        rate = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate) if rate > 0 else 0.0


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    return int(tag) % 360 if tag and tag.lstrip("-").isdigit() else 0


def memory_bounded(cmd: list[str], memory_bytes: int | None) -> list[str]:
    """``cmd`` under an address-space limit (util-linux ``prlimit``, RLIMIT_AS): a hostile
    file makes the child fail its allocations instead of taking the machine's memory.
    The child also dies with the thread that started it (``setpriv --pdeathsig``): a worker
    killed outright leaves no ffmpeg decoding on (its job is re-queued and runs again).

    util-linux commands rather than ``preexec_fn``: forking a threaded server to run Python
    in the child can deadlock.
    """
    if shutil.which("setpriv") is not None:
        cmd = ["setpriv", "--pdeathsig", "KILL", "--", *cmd]
    if not memory_bytes:
        return cmd
    if shutil.which("prlimit") is None:
        log.warning("prlimit is not installed: %s runs without a memory limit", cmd[0])
        return cmd
    return ["prlimit", f"--as={int(memory_bytes)}", "--", *cmd]


def ffprobe_json(path: str | os.PathLike, demuxer: str, args: list[str],
                 ffprobe: str = "ffprobe", timeout: float = PROBE_TIMEOUT,
                 limits: Limits | None = None) -> dict:
    """Run ffprobe on exactly one local file with the whitelists and the limits; JSON out."""
    limits = limits or Limits()
    cmd = [ffprobe, "-v", "error", "-protocol_whitelist", PROTOCOL_WHITELIST,
           "-format_whitelist", FORMAT_WHITELIST, "-max_pixels", str(limits.decode_max_pixels),
           "-f", demuxer, *args, "-print_format", "json", f"file:{Path(path).resolve()}"]
    try:
        # its own session, as ffmpeg's: a Ctrl-C meant for the server (its process group)
        # would kill it and fail a good upload; the server stops its jobs itself
        proc = subprocess.run(memory_bounded(cmd, limits.probe_memory_bytes),
                              capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise MediaRejected("corrupt", "the file could not be read in time") from None
    stderr = proc.stderr.decode(errors="replace")
    if TOO_MANY_PIXELS in stderr:
        raise MediaRejected("too_large", "a frame is above the "
                            f"{limits.max_pixels / 1e6:.1f} MP limit")
    if proc.returncode != 0:
        detail = stderr.strip().splitlines()[-1:] or [""]
        if "Cannot allocate memory" in stderr or proc.returncode < 0:
            raise MediaRejected("too_large", "the file needs more memory to read than allowed")
        raise MediaRejected("corrupt", f"the file could not be read ({detail[0][-200:]})")
    try:
        return json.loads(proc.stdout or b"{}")
    except ValueError:
        raise MediaRejected("corrupt", "the file could not be read") from None


def _packet_duration(path: str | os.PathLike, demuxer: str, ffprobe: str,
                     limits: Limits) -> float:
    """Duration from the last video packet, for containers that do not state one (WebM)."""
    data = ffprobe_json(path, demuxer, ["-select_streams", "v:0", "-show_entries",
                                        "packet=pts_time,duration_time"], ffprobe,
                        limits=limits)
    end = 0.0
    for packet in data.get("packets", []):
        try:
            end = max(end, float(packet.get("pts_time")) + float(packet.get("duration_time") or 0))
        except (TypeError, ValueError):
            continue
    return end


def probe(path: str | os.PathLike, limits: Limits = Limits(),
          ffprobe: str = "ffprobe") -> VideoInfo:
    """Inspect a video upload; raise ``MediaRejected`` for anything we will not transcode."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("corrupt", "the file is empty")
    kind = sniff_file(path)
    if kind is None or kind[0] != "video":
        raise MediaRejected("unsupported_format", "not a supported video container")
    demuxer = kind[1]
    data = ffprobe_json(path, demuxer, ["-show_format", "-show_streams"], ffprobe,
                        limits=limits)
    streams = data.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        raise MediaRejected("no_video_stream", "the file has no video stream")
    video = videos[0]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    audio = audios[0] if audios else None

    coded_w, coded_h = int(video.get("width") or 0), int(video.get("height") or 0)
    if coded_w <= 0 or coded_h <= 0 or not video.get("codec_name") or not video.get("pix_fmt"):
        raise MediaRejected("corrupt", "the video stream cannot be decoded")
    try:
        sar = Fraction((video.get("sample_aspect_ratio") or "1:1").replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        sar = Fraction(1)
    if sar <= 0:
        sar = Fraction(1)
    rotation = _rotation(video)
    disp_w = round(coded_w * sar) if sar > 1 else coded_w
    disp_h = round(coded_h / sar) if sar < 1 else coded_h
    if rotation in (90, 270):
        disp_w, disp_h = disp_h, disp_w

    if max(disp_w, disp_h) > limits.max_side or disp_w * disp_h > limits.max_pixels:
        raise MediaRejected("too_large", f"{disp_w}x{disp_h} is above the "
                            f"{limits.max_side} px / {limits.max_pixels / 1e6:.1f} MP limit")

    duration = 0.0
    # The video stream's own duration first: a hostile extra stream can claim any length.
    for value in (video.get("duration"), (data.get("format") or {}).get("duration")):
        try:
            duration = float(value)
        except (TypeError, ValueError):
            continue
        if duration > 0:
            break
    if duration <= 0:
        duration = _packet_duration(path, demuxer, ffprobe, limits)
    if duration <= 0:
        raise MediaRejected("corrupt", "the video has no duration")
    if duration > limits.max_seconds:
        raise MediaRejected("too_long", f"{duration:.0f} s is above the "
                            f"{limits.max_seconds:.0f} s limit")

    bit_rate = video.get("bit_rate") or (data.get("format") or {}).get("bit_rate")
    return VideoInfo(
        path=str(path), demuxer=demuxer, duration=duration, size_bytes=size,
        width=disp_w, height=disp_h, coded_width=coded_w, coded_height=coded_h,
        rotation=rotation, codec=video["codec_name"], profile=video.get("profile"),
        pix_fmt=video["pix_fmt"], fps=_rate(video.get("r_frame_rate")),
        avg_fps=_rate(video.get("avg_frame_rate")), color_transfer=video.get("color_transfer"),
        bit_rate=int(bit_rate) if str(bit_rate or "").isdigit() else None,
        has_audio=audio is not None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_profile=audio.get("profile") if audio else None,
        audio_channels=int(audio.get("channels") or 0) if audio else 0,
        audio_sample_rate=int(audio.get("sample_rate") or 0) if audio else 0,
        sar=sar,
    )


def keyframe_times(info: VideoInfo,
                   ffprobe: str = "ffprobe") -> tuple[list[float], list[tuple[float, int]]]:
    """Keyframe times and (time, size) of every video packet; demux only, no decoding."""
    data = ffprobe_json(info.path, info.demuxer, ["-select_streams", "v:0", "-show_entries",
                                                  "packet=pts_time,size,flags"], ffprobe)
    keys, packets = [], []
    for packet in data.get("packets", []):
        try:
            t, size = float(packet["pts_time"]), int(packet["size"])
        except (KeyError, TypeError, ValueError):
            continue
        packets.append((t, size))
        if "K" in packet.get("flags", ""):
            keys.append(t)
    return sorted(keys), packets
