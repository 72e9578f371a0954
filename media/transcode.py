"""Turn one probed video into streaming renditions with ONE ffmpeg run.

The source is decoded once; the frames are made upright (ffmpeg's autorotate), tone-mapped
to 8-bit SDR when HDR, set to a constant frame rate (VFR sources, 60-120 fps capped), then
split to every rung of the ladder and to the poster. Each rung is encoded once (H.264
yuv420p, capped bitrate, keyframes every 2 s on every rung so HLS segments align) and the
encoded packets are written twice by the ``tee`` muxer: a faststart MP4 and an HLS rendition.
Audio is encoded once (or copied when already AAC) and shared by every output.

A top rung whose source already meets the output rules is stream-copied instead of
re-encoded (passthrough). ffmpeg runs under ``nice`` with capped threads, an address-space
limit (``prlimit``) and our own hard time limit; progress comes from ``-progress``.

What the probe saw is not trusted while decoding: the decoder refuses frames above the pixel
limit (``-max_pixels``), the filter graph is not rebuilt when the frame size changes
mid-stream (``-reinit_filter 0``; ffmpeg's warning about it ends the run), and the duration
is measured from the decoded output: past ``max_seconds`` the run stops as ``too_long``
whatever the container's header claimed.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ffmpeg

from media.probe import (
    FORMAT_WHITELIST,
    PROTOCOL_WHITELIST,
    TOO_MANY_PIXELS,
    Limits,
    VideoInfo,
    keyframe_times,
    memory_bounded,
)

# Seconds of output past ``max_seconds`` tolerated (frame rounding) before ``too_long``.
DURATION_SLACK = 0.5
# Lines of ffmpeg's stderr that end a run at once, with the contract's error code.
FRAME_SIZE_CHANGED = "Changing video frame properties on the fly"
_FATAL_LINES = (
    (TOO_MANY_PIXELS, "too_large", "the frame size grows mid-stream above the pixel limit"),
    (FRAME_SIZE_CHANGED, "unsupported_format", "the frame size changes mid-stream"),
    # what running out of the address space (prlimit) looks like: failed allocations and
    # threads that cannot get a stack
    ("Cannot allocate memory", "too_large", "decoding needs more memory than allowed"),
    ("malloc of size", "too_large", "decoding needs more memory than allowed"),
    ("Resource temporarily unavailable", "too_large", "decoding needs more memory than allowed"),
)


@dataclass(frozen=True)
class Rung:
    """One step of the ladder: lines on the short side and the bitrate caps."""

    lines: int
    maxrate: int  # bits/s
    bufsize: int


LADDER = (
    Rung(1080, 5_000_000, 10_000_000),
    Rung(720, 2_800_000, 5_600_000),
    Rung(480, 1_400_000, 2_800_000),
    Rung(360, 800_000, 1_600_000),
)


@dataclass
class Options:
    """Knobs with production defaults; tests and benchmarks override a few."""

    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    preset: str = "veryfast"
    crf: int = 23
    fps_cap: float = 30.0
    segment_seconds: int = 2
    audio_bitrate: int = 128_000
    threads: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    nice: int = 10
    timeout: float = 1800.0
    passthrough: bool = True
    max_seconds: float = 600.0
    top_scaler: str = "bicubic"  # source -> first encoded rung
    scaler: str = "bicubic"  # each lower rung from the rung above it ("bilinear": cheaper, softer)
    cascade: bool = True  # False: every rung scaled from the source (for the benchmark)
    max_pixels: int = Limits().decode_max_pixels  # per decoded frame (-max_pixels)
    memory_bytes: int = 3 << 30  # ffmpeg's address space (MEDIA_FFMPEG_MEMORY_MB)


@dataclass
class PlannedRung:
    name: str
    width: int
    height: int
    maxrate: int
    bufsize: int
    copy: bool = False


@dataclass
class Rendition:
    """One output rung: its MP4 and its HLS playlist (paths relative to the output folder)."""

    name: str
    width: int
    height: int
    bitrate: int  # average bits/s of the MP4
    peak_bitrate: int  # highest segment bitrate, for the HLS master's BANDWIDTH
    mp4: str
    playlist: str
    codecs: str
    copied: bool


@dataclass
class TranscodeResult:
    duration: float
    width: int
    height: int
    fps: float
    has_audio: bool
    renditions: list[Rendition]
    master: str
    poster: str
    folder: str = ""

    def files(self) -> list[str]:
        """Every output file, relative to the output folder."""
        root = Path(self.folder)
        return [self.master, self.poster] + [r.mp4 for r in self.renditions] + [
            str(Path(r.playlist).parent / name) for r in self.renditions
            for name in _playlist_entries(root / r.playlist)
        ] + [r.playlist for r in self.renditions]


class Interrupted(Exception):
    """ffmpeg was killed by someone else (an operator, the OOM killer): run the job again."""


class TranscodeError(Exception):
    """ffmpeg failed on a file that passed the probe."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def output_fps(info: VideoInfo, cap: float) -> float:
    """A constant output rate: the source's (average) rate, snapped to a common one, capped."""
    rate = info.avg_fps if 1 <= info.avg_fps <= 1000 else info.fps
    if not 1 <= rate <= 1000:
        rate = cap
    for common in (24.0, 25.0, 30.0, 48.0, 50.0, 60.0):
        if abs(rate - common) / common < 0.03:
            rate = common
            break
    rate = min(rate, cap)
    return round(rate, 3)


def plan_ladder(info: VideoInfo, options: Options) -> list[PlannedRung]:
    """The rungs for this source: every ladder step not above it, aspect kept, even sizes."""
    short, long_ = min(info.width, info.height), max(info.width, info.height)
    portrait = info.height > info.width
    steps = [r for r in LADDER if r.lines <= short]
    if not steps:  # smaller than the lowest rung: one rendition at the source size
        smallest = LADDER[-1]
        steps = [Rung(short - short % 2 or 2, smallest.maxrate, smallest.bufsize)]
    planned = []
    for step in steps:
        s = _even(step.lines) if step.lines != short else short - short % 2
        s = max(2, s)
        l_ = _even(long_ * step.lines / short)
        w, h = (s, l_) if portrait else (l_, s)
        planned.append(PlannedRung(f"{step.lines}p", w, h, step.maxrate, step.bufsize))
    if options.passthrough and can_copy_top(info, planned[0], options):
        planned[0].copy = True
    return planned


def can_copy_top(info: VideoInfo, rung: PlannedRung, options: Options) -> bool:
    """True when the source already meets the output rules for the top rung.

    H.264 8-bit 4:2:0, upright, square pixels, SDR, constant rate within the cap, exactly the
    rung's size, keyframes on every segment boundary, bitrate within the rung's caps.
    """
    if (info.codec != "h264" or info.pix_fmt != "yuv420p" or info.rotation or info.sar != 1
            or info.hdr or (info.profile or "") not in ("High", "Main", "Constrained Baseline")
            or (info.width, info.height) != (rung.width, rung.height)
            or info.vfr or info.fps > options.fps_cap + 0.01
            or abs(info.fps - output_fps(info, options.fps_cap)) > 0.01):
        return False
    # a phone's own recording (10-25 Mb/s) is far above the cap: say no before reading every
    # packet. Only a "no": a declared rate that lies low still gets the packet check below.
    if info.bit_rate and info.bit_rate > 1.1 * rung.maxrate:
        return False
    keys, packets = keyframe_times(info, options.ffprobe)
    if not keys or keys[0] > 0.05:
        return False
    step = options.segment_seconds
    frame = 1.0 / info.fps
    for i in range(1, int(info.duration // step) + 1):
        boundary = i * step
        if boundary >= info.duration - frame:
            break
        if not any(abs(k - boundary) < frame / 2 for k in keys):
            return False
    total = sum(size for _, size in packets) * 8
    if info.duration <= 0 or total / info.duration > rung.maxrate:
        return False
    windows: dict[int, int] = collections.Counter()
    for t, size in packets:
        windows[int(t // step)] += size * 8
    return max(windows.values(), default=0) / step <= 2 * rung.maxrate


def _audio_copyable(info: VideoInfo) -> bool:
    return (info.audio_codec == "aac" and info.audio_profile == "LC"
            and 1 <= info.audio_channels <= 2 and info.audio_sample_rate in (44100, 48000))


def _tee_slave(options: dict[str, str], target: str) -> str:
    """One ``[k=v:...]target`` slave; our names never need tee escaping: refuse any that would."""
    for text in (target, options.get("hls_segment_filename", "")):
        if any(ch in text for ch in "|[]\\':"):
            raise ValueError(f"unsafe tee path {text!r}")
    spec = ":".join(f"{k}={v}" for k, v in options.items())
    return f"[{spec}]{target}"


def cascade(source, rungs: list[PlannedRung], options: Options) -> list:
    """One scaled stream per rung, each scaled from the rung above it (not from the source).

    The first rung is scaled from the source with ``options.top_scaler``; every lower rung
    from the previous rung's frames with ``options.scaler``: a 1080p source is read at full
    size once instead of once per rung, which is most of the scaling work (about 10% of the
    whole run's CPU on a 1080p source). ``bicubic`` stays the default for the steps: cascaded
    ``bilinear`` saves about 5% more but softens 360p visibly (SSIM against a direct
    ``lanczos`` downscale 0.990, against 0.997-0.999 for cascaded ``bicubic``); see
    ``bench/README_media.md``.
    """
    def scale(node, rung: PlannedRung, flags: str):
        return (node.filter("scale", rung.width, rung.height, flags=flags)
                .filter("setsar", "1").filter("format", "yuv420p"))

    if not options.cascade or len(rungs) == 1:
        split = source.filter_multi_output("split", len(rungs)) if len(rungs) > 1 else None
        return [scale(split[i] if split else source, rung, options.top_scaler)
                for i, rung in enumerate(rungs)]
    streams = []
    node, flags = source, options.top_scaler
    for position, rung in enumerate(rungs):
        scaled = scale(node, rung, flags)
        if position == len(rungs) - 1:
            streams.append(scaled)
        else:
            split = scaled.filter_multi_output("split", 2)
            streams.append(split[0])
            node = split[1]
        flags = options.scaler
    return streams


def build_command(info: VideoInfo, rungs: list[PlannedRung], options: Options) -> list[str]:
    """The ffmpeg argument list (run with the output folder as working directory)."""
    fps = output_fps(info, options.fps_cap)
    gop = max(1, int(round(fps * options.segment_seconds)))
    inp = ffmpeg.input(
        f"file:{Path(info.path).resolve()}", f=info.demuxer,
        protocol_whitelist=PROTOCOL_WHITELIST, format_whitelist=FORMAT_WHITELIST,
        threads=options.threads, t=f"{options.max_seconds + 1:g}",
        max_pixels=str(options.max_pixels), reinit_filter="0",
    )
    video = inp["v:0"]
    if info.hdr:
        video = (video.filter("zscale", t="linear", npl=100).filter("format", "gbrpf32le")
                 .filter("zscale", p="bt709").filter("tonemap", tonemap="hable", desat=0)
                 .filter("zscale", t="bt709", m="bt709", r="tv"))
    video = video.filter("fps", fps=fps)
    encoded = [r for r in rungs if not r.copy]
    # the poster gets its own branch from the source frames; the encoded rungs form a chain
    chain, poster_branch = [], video
    if encoded:
        split = video.filter_multi_output("split", 2)
        chain, poster_branch = cascade(split[0], encoded, options), split[1]

    streams, kwargs, slaves = [], {}, []
    for index, rung in enumerate(rungs):
        if rung.copy:
            streams.append(inp["v:0"])
            kwargs[f"c:v:{index}"] = "copy"
        else:
            streams.append(chain.pop(0))
            kwargs.update({
                f"c:v:{index}": "libx264", f"preset:v:{index}": options.preset,
                f"crf:v:{index}": str(options.crf), f"profile:v:{index}": "high",
                f"maxrate:v:{index}": str(rung.maxrate), f"bufsize:v:{index}": str(rung.bufsize),
                f"g:v:{index}": str(gop), f"keyint_min:v:{index}": str(gop),
                f"sc_threshold:v:{index}": "0",
                f"force_key_frames:v:{index}": f"expr:gte(t,n_forced*{options.segment_seconds})",
            })
            if info.hdr:
                kwargs.update({f"color_primaries:v:{index}": "bt709",
                               f"color_trc:v:{index}": "bt709", f"colorspace:v:{index}": "bt709"})
    select_audio = ""
    if info.has_audio:
        streams.append(inp["a:0"])
        select_audio = ",a"
        if _audio_copyable(info):
            kwargs["c:a"] = "copy"
        else:
            kwargs.update({"c:a": "aac", "b:a": str(options.audio_bitrate), "ac": "2"})
            if info.audio_sample_rate not in (44100, 48000):
                kwargs["ar"] = "48000"
    for index, rung in enumerate(rungs):
        select = {"select": f"\\'v:{index}{select_audio}\\'"}
        slaves.append(_tee_slave({**select, "f": "mp4", "movflags": "+faststart"},
                                 f"{rung.name}.mp4"))
        slaves.append(_tee_slave({
            **select, "f": "hls", "hls_time": str(options.segment_seconds),
            "hls_playlist_type": "vod", "hls_flags": "independent_segments",
            "hls_segment_filename": f"hls/{rung.name}/seg_%05d.ts",
        }, f"hls/{rung.name}/index.m3u8"))
    tee = ffmpeg.output(
        *streams, "|".join(slaves), f="tee", map_metadata="-1", map_chapters="-1",
        threads=options.threads, **{"flags": "+global_header"}, **kwargs,
    )
    poster_t = min(1.0, info.duration / 3)
    # ``end`` closes the branch right after the poster's frame: later frames are not scaled
    top = rungs[0]
    poster = (poster_branch.filter("trim", start=f"{poster_t:.3f}", end=f"{poster_t + 1:.3f}")
              .filter("scale", top.width, top.height).filter("setsar", "1")
              .output("poster.jpg", map_metadata="-1",
                      **{"frames:v": "1", "update": "1", "q:v": "3"}))
    graph = ffmpeg.merge_outputs(tee, poster).global_args(
        "-nostdin", "-hide_banner", "-loglevel", "warning", "-nostats", "-progress", "pipe:1",
        "-xerror", "-filter_complex_threads", str(options.threads),
    )
    return graph.compile(cmd=options.ffmpeg, overwrite_output=True)


def run_ffmpeg(args: list[str], cwd: str | os.PathLike, timeout: float, nice: int,
               duration: float | None = None,
               on_progress: Callable[[float], None] | None = None,
               max_seconds: float | None = None, memory_bytes: int | None = None) -> None:
    """Run ffmpeg (under ``nice`` and ``memory_bytes``) with a hard time limit; progress as a
    fraction 0..1.

    The child runs in its own process group, killed whole when the limit passes, when the
    decoded output passes ``max_seconds`` (``too_long``) or when stderr says the stream
    changed under us (``_FATAL_LINES``); stdout carries ``-progress`` lines, stderr is kept
    (last 64 lines) for the error message.
    """
    cmd = memory_bounded(list(args), memory_bytes)
    if nice and shutil.which("nice"):
        cmd = ["nice", "-n", str(nice), *cmd]
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    _running.add(proc)
    tail: collections.deque[bytes] = collections.deque(maxlen=64)
    failure: list[TranscodeError] = []

    def stop(code: str, message: str) -> None:
        if not failure:
            failure.append(TranscodeError(code, message))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def drain_stderr() -> None:
        for line in proc.stderr:
            tail.append(line)
            text = line.decode(errors="replace")
            for needle, code, message in _FATAL_LINES:
                if needle in text:
                    stop(code, f"{message} ({text.strip()[-200:]})")

    def read_progress() -> None:
        for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line.startswith("out_time_us="):
                continue
            value = line.split("=", 1)[1]
            if not value.lstrip("-").isdigit():
                continue
            seconds = int(value) / 1e6
            if max_seconds and seconds > max_seconds + DURATION_SLACK:
                stop("too_long", f"the video runs past the {max_seconds:.0f} s limit "
                     "(measured while decoding)")
            if on_progress and duration:
                on_progress(min(1.0, max(0.0, seconds / duration)))

    readers = [threading.Thread(target=drain_stderr, daemon=True),
               threading.Thread(target=read_progress, daemon=True)]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise TranscodeError("timeout", f"transcoding took longer than {timeout:.0f} s") from None
    except BaseException:
        _kill(proc)
        raise
    finally:
        _running.discard(proc)
        for reader in readers:
            reader.join(timeout=5)
    if failure:
        raise failure[0]
    if proc.returncode in (-signal.SIGKILL, -signal.SIGTERM):
        # killed from outside (not by our time limit): nothing is wrong with the file
        raise Interrupted(f"ffmpeg was killed (signal {-proc.returncode})")
    if proc.returncode != 0:
        message = b"".join(tail).decode(errors="replace").strip()[-600:]
        lowered = message.lower()
        corrupt = any(s in lowered for s in ("invalid data", "partial file", "error while decoding",
                                             "corrupt", "truncat", "end of file"))
        raise TranscodeError("corrupt" if corrupt else "transcode_failed",
                             message or f"ffmpeg exited with {proc.returncode}")


_running: set[subprocess.Popen] = set()  # ffmpeg children of this process's jobs


def interrupt_all() -> int:
    """Kill every running ffmpeg of this process (a stopping worker): each job raises
    ``Interrupted`` and is retried, by this worker's successor if need be."""
    procs = list(_running)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return len(procs)


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _playlist_entries(playlist: Path) -> list[str]:
    return [line.strip() for line in playlist.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _stream_info(path: Path, ffprobe: str) -> dict:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries",
         "format=bit_rate,duration:stream=codec_type,codec_name,profile,level,width,height",
         "-of", "json", str(path)], capture_output=True, check=True, timeout=60,
        start_new_session=True)  # out of reach of a Ctrl-C meant for the server (probe.py)
    return json.loads(out.stdout)


_H264_PROFILES = {"Constrained Baseline": "42e0", "Baseline": "4200", "Main": "4d00",
                  "High": "6400"}


def _codecs(info: dict) -> str:
    parts = []
    for stream in info.get("streams", []):
        if stream.get("codec_type") == "video":
            profile = _H264_PROFILES.get(stream.get("profile"), "6400")
            parts.append(f"avc1.{profile}{int(stream.get('level') or 40):02x}")
        elif stream.get("codec_type") == "audio":
            parts.append("mp4a.40.2")
    return ",".join(parts)


def write_master(out_dir: Path, renditions: list[Rendition], fps: float) -> str:
    """The HLS master playlist, best rung first (what Safari and hls.js start from)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.peak_bitrate},AVERAGE-BANDWIDTH={r.bitrate},"
            f"RESOLUTION={r.width}x{r.height},FRAME-RATE={fps:.3f},CODECS=\"{r.codecs}\"")
        lines.append(str(Path(r.playlist).relative_to("hls")))
    (out_dir / "hls" / "master.m3u8").write_text("\n".join(lines) + "\n")
    return "hls/master.m3u8"


def _segment_bitrates(playlist: Path) -> tuple[int, int]:
    """(peak, average) bits/s over the playlist's segments."""
    durations, peak, total_bits, total_time = [], 0.0, 0, 0.0
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            durations.append(float(line[8:].split(",")[0]))
        elif line and not line.startswith("#"):
            seconds = durations.pop() if durations else 0.0
            bits = (playlist.parent / line).stat().st_size * 8
            total_bits += bits
            total_time += seconds
            if seconds > 0.2:
                peak = max(peak, bits / seconds)
    average = total_bits / total_time if total_time else 0
    return int(math.ceil(max(peak, average))), int(average)


def transcode(info: VideoInfo, out_dir: str | os.PathLike, options: Options = Options(),
              on_progress: Callable[[float], None] | None = None) -> TranscodeResult:
    """Write every rendition, the HLS playlists and the poster into ``out_dir`` (emptied first).

    On any failure the folder's contents are removed before the error propagates.
    """
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    rungs = plan_ladder(info, options)
    for rung in rungs:
        (out / "hls" / rung.name).mkdir(parents=True, exist_ok=True)
    try:
        args = build_command(info, rungs, options)
        run_ffmpeg(args, out, options.timeout, options.nice, info.duration, on_progress,
                   max_seconds=options.max_seconds, memory_bytes=options.memory_bytes)
        renditions = []
        for rung in rungs:
            mp4 = out / f"{rung.name}.mp4"
            playlist = out / "hls" / rung.name / "index.m3u8"
            if not mp4.is_file() or not playlist.is_file():
                raise TranscodeError("transcode_failed", f"ffmpeg wrote no {rung.name} output")
            stats = _stream_info(mp4, options.ffprobe)
            if not any(s.get("codec_type") == "video" for s in stats.get("streams", [])):
                raise TranscodeError("corrupt", "no video frames could be decoded")
            peak, _avg = _segment_bitrates(playlist)
            bitrate = int(float((stats.get("format") or {}).get("bit_rate") or 0))
            renditions.append(Rendition(
                name=rung.name, width=rung.width, height=rung.height, bitrate=bitrate,
                peak_bitrate=max(peak, bitrate), mp4=mp4.name,
                playlist=str(playlist.relative_to(out)), codecs=_codecs(stats), copied=rung.copy,
            ))
        if not (out / "poster.jpg").is_file():  # a clip too short to reach the poster's time
            subprocess.run([options.ffmpeg, "-nostdin", "-v", "error", "-y",
                            "-protocol_whitelist", PROTOCOL_WHITELIST, "-f", "mov",
                            "-i", renditions[0].mp4, "-frames:v", "1", "-q:v", "3",
                            "-update", "1", "poster.jpg"], cwd=out, timeout=60,
                           capture_output=True, check=False, start_new_session=True)
        if not (out / "poster.jpg").is_file():
            raise TranscodeError("corrupt", "no frame could be decoded for the poster")
        duration = float((_stream_info(out / renditions[0].mp4, options.ffprobe)
                          .get("format") or {}).get("duration") or info.duration)
        if duration > options.max_seconds + DURATION_SLACK:  # what was decoded, not the header
            raise TranscodeError("too_long", f"the video runs {duration:.0f} s, above the "
                                 f"{options.max_seconds:.0f} s limit")
        fps = output_fps(info, options.fps_cap)
        master = write_master(out, renditions, fps)
        top = renditions[0]
        return TranscodeResult(duration=round(duration, 3), width=top.width, height=top.height,
                               fps=fps, has_audio=info.has_audio, renditions=renditions,
                               master=master, poster="poster.jpg", folder=str(out))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
