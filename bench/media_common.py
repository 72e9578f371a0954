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

# Two kinds of 1080p30 source with audio:
#  - "phone": bitrate far above the 1080p rung's cap, like a phone's own recording, so every
#    rung is encoded;
#  - "compliant": H.264 yuv420p within the caps with 2 s GOPs, so the top rung is copied.
SOURCES = {
    "phone": ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "14", "-pix_fmt", "yuv420p"],
    "compliant": ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
                  "-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                  "-maxrate", "4500k", "-bufsize", "9000k"],
}


def source(kind: str, seconds: int) -> Path:
    """A 1080p30 test clip with audio, made once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{kind}_{seconds}s_1080p30.mp4"
    if not path.exists():
        tmp = path.with_suffix(".tmp.mp4")
        subprocess.run([
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            *SOURCES[kind], "-c:a", "aac", "-b:a", "128k", "-shortest", str(tmp),
        ], check=True)
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


def mb(value: float) -> str:
    return f"{value / 1024 / 1024:.0f} MB"
