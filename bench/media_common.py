"""Shared by the media benchmarks: source clips and a peak-memory sampler."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/fanhub-bench-media"))

# Four kinds of 1080p30 source with audio:
#  - "phone": ffmpeg's ``testsrc2`` pattern filling the frame, at 24 Mb/s (x264 ultrafast CRF 14),
#    bitrate far above the 1080p rung's cap so every rung is encoded. A very hard clip to
#    encode: sharp synthetic detail everywhere and no flat areas;
#  - "natural": closer to what a phone records, though still synthetic (no camera footage can
#    be downloaded here): a slow hand-held-like pan and zoom (sub-pixel motion) over a
#    detailed still (a 4K Mandelbrot render: large smooth areas and fine edges), a moving
#    inset object (a small ``testsrc2``) and light temporal sensor noise, encoded the way a
#    phone does (x264 High, 17 Mb/s, 1 s GOPs), so every rung is encoded too;
#  - "compliant": ``testsrc2``, H.264 yuv420p within the caps with 2 s GOPs, so the top rung
#    is copied;
#  - "default": ``testsrc2`` encoded with ffmpeg's defaults (libx264 preset medium, CRF 23,
#    keyframes every 250 frames; ffmpeg's default ``sine`` tone, AAC): what one gets from
#    ``ffmpeg -f lavfi -i testsrc2=... -f lavfi -i sine out.mp4``, the likely source of the
#    issue's hand-written calibration. About 6 Mb/s (above the 1080p rung's 5 Mb/s cap) with
#    keyframes 8.3 s apart, so all four rungs are encoded (no passthrough).
TESTSRC2 = "testsrc2=size=1920x1080:rate=30:duration={s}"
NATURAL = (
    "[0:v]trim=end_frame=1,loop=loop=-1:size=1,setpts=N/30/TB,"
    "zoompan=z='1.25+0.15*sin(on/90)'"
    ":x='(iw-iw/zoom)/2+(iw-iw/zoom)/2*0.8*sin(on/70)+6*sin(on*0.9)'"
    ":y='(ih-ih/zoom)/2+(ih-ih/zoom)/2*0.6*sin(on/110)+4*sin(on*1.3)'"
    ":d=1:s=1920x1080:fps=30,trim=duration={s}[bg];"
    "[bg][1:v]overlay=x='200+1200*(0.5+0.5*sin(t/3))':y='300+400*(0.5+0.5*cos(t/4))',"
    "noise=alls=3:allf=t,format=yuv420p[v]"
)
SCENES = {  # scene -> (video inputs, graph and maps; the sine tone is the input after them)
    "testsrc2": lambda s: (["-f", "lavfi", "-i", TESTSRC2.format(s=s)], []),
    "natural": lambda s: (
        ["-f", "lavfi", "-i", "mandelbrot=size=3840x2160:rate=1:end_pts=1:maxiter=256",
         "-f", "lavfi", "-i", f"testsrc2=size=480x270:rate=30:duration={s}"],
        ["-filter_complex", NATURAL.format(s=s), "-map", "[v]", "-map", "2:a"]),
}
SOURCES = {  # kind -> (scene, video encoding)
    "phone": ("testsrc2", ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "14",
                           "-pix_fmt", "yuv420p"]),
    "natural": ("natural", ["-c:v", "libx264", "-preset", "faster", "-profile:v", "high",
                            "-b:v", "17M", "-maxrate", "20M", "-bufsize", "34M", "-g", "30"]),
    "compliant": ("testsrc2", ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
                               "-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60",
                               "-sc_threshold", "0", "-maxrate", "4500k", "-bufsize", "9000k"]),
    "default": ("testsrc2", ["-c:v", "libx264"]),
}
AUDIO = {  # kind -> audio input and encoding, when not the 48 kHz tone at 128 kb/s
    "default": lambda s: (["-f", "lavfi", "-i", f"sine=duration={s}"], ["-c:a", "aac"]),
}


def source(kind: str, seconds: int) -> Path:
    """A 1080p30 test clip with audio, made once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{kind}_{seconds}s_1080p30.mp4"
    if not path.exists():
        scene, encoding = SOURCES[kind]
        inputs, graph = SCENES[scene](seconds)
        audio, audio_codec = AUDIO[kind](seconds) if kind in AUDIO else (
            ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"],
            ["-c:a", "aac", "-b:a", "128k"])
        tmp = path.with_suffix(".tmp.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *audio, *graph,
                        *encoding, *audio_codec, "-shortest", str(tmp)], check=True)
        tmp.rename(path)
    return path


class PeakRss:
    """Samples the resident memory of a process and all its children (ffmpeg) every 20 ms."""

    def __init__(self, pid: int | None = None, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.peak = 0
        self.baseline = self.total()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def total(self) -> int:
        procs = [self.process]
        with contextlib.suppress(psutil.NoSuchProcess):
            procs += self.process.children(recursive=True)
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.total())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, from ``/proc/stat``: minus our own
    CPU time over a run, what other processes (busy) and the hypervisor (steal) took."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / hz, steal / hz


def mb(value: float) -> str:
    return f"{value / 1024 / 1024:.0f} MB"
