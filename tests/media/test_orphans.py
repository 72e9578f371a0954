"""A worker killed outright takes its ffmpeg with it (the job is re-queued elsewhere)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_ffmpeg_dies_with_a_killed_worker(tmp_path):
    pidfile = tmp_path / "ffmpeg.pid"
    # a stand-in worker: starts a ten-minute ffmpeg (-re: at the input's own pace) from a
    # thread, the way the media jobs do, and waits on it
    script = textwrap.dedent(f"""
        import subprocess, threading
        from media.probe import memory_bounded
        cmd = memory_bounded(["ffmpeg", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5",
                              "-t", "600", "-f", "null", "-"], 1 << 30)
        def job():
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            open({str(pidfile)!r}, "w").write(str(proc.pid))
            proc.wait()
        t = threading.Thread(target=job)
        t.start()
        t.join()
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    try:
        for _ in range(200):
            if pidfile.exists() and pidfile.read_text():
                break
            time.sleep(0.05)
        ffmpeg = int(pidfile.read_text())
        assert _alive(ffmpeg)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        for _ in range(100):
            if not _alive(ffmpeg):
                break
            time.sleep(0.05)
        else:
            os.kill(ffmpeg, signal.SIGKILL)
            pytest.fail("ffmpeg outlived the worker that started it")
    finally:
        worker.kill()
