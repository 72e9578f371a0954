"""Fanhub's own processes, started for real as an operator starts them: ``make run``'s
gunicorn command and each Procfile line, on a free port and a VAR_DIR of the test's.

The environment is the caller's minus the shape's servers (``MONGODB_URI``, ``REDIS_URL``,
...) unless given again: a process runs the embedded default unless told otherwise.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from app.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
SHAPE_VARIABLES = ("MONGODB_URI", "REDIS_URL", "CELERY_BROKER_URL", "SOCKETIO_MESSAGE_QUEUE",
                   "ELASTICSEARCH_URL", "S3_BUCKET", "SECRET_KEY")

# `make run`'s command (Makefile) and the Procfile's lines, with the venv's binaries.
MAKE_RUN = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", "1", "wsgi:app"]
WEB = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
WORKER = [str(BIN / "celery"), "--app", "wsgi:celery", "worker", "--pool", "threads",
          "--concurrency", "4", "--queues", "celery,fanout,media,search", "--loglevel", "INFO"]
BEAT = [str(BIN / "celery"), "--app", "wsgi:celery", "beat", "--loglevel", "INFO"]

# cheap passwords and generous limits: the tests exercise restarts, not hashing or limits
TEST_SETTINGS = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "RATELIMIT_SCALE": "1000",
                 "DEMO_DATA": "0"}


class Process:
    """One of Fanhub's processes; ``url`` is set for the ones that listen."""

    def __init__(self, command: list[str], var_dir: Path, name: str = "web", listen: bool = True,
                 **env: str) -> None:
        self.command, self.var_dir, self.name = command, Path(var_dir), name
        self.port = free_port() if listen else None
        self.url = f"http://127.0.0.1:{self.port}" if listen else None
        self.env = {k: v for k, v in os.environ.items() if k not in SHAPE_VARIABLES}
        self.env.update(TEST_SETTINGS)
        self.env.update(VAR_DIR=str(self.var_dir), PYTHONPATH=str(ROOT), HOST="127.0.0.1")
        if listen:
            self.env["PORT"] = str(self.port)
        self.env.update(env)
        self.log = self.var_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)  # its own process group
        return self

    def wait_ready(self, path: str = "/healthz", timeout: float = 90) -> Process:
        """Until ``path`` answers (any status): the app is built and serving."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.url + path, timeout=10)
                return self
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{self.tail()}") from None
                time.sleep(0.1)

    def wait_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} never logged {text!r}:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, size: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, group: bool = False,
             timeout: float = 30) -> tuple[int | None, float]:
        """Send ``sig`` (to the whole process group with ``group``, as Ctrl-C in a terminal
        does) and wait; returns (exit code, seconds), or (None, seconds) if it was still
        running after ``timeout`` (then it is killed)."""
        started = time.monotonic()
        if self.process is None or self.process.poll() is not None:
            return (self.process.returncode if self.process else None), 0.0
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        return code, time.monotonic() - started

    def kill(self) -> None:
        """``kill -9`` of the process and its children (gunicorn's worker): nothing of theirs
        runs after it."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
