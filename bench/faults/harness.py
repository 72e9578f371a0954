"""What the fault scenarios share: a Redis on a fixed port, the web server as a real
process (gunicorn serving ``wsgi:app``), an HTTP client with the contract's helpers, clips.

mongomock lives inside the web process, so in the embedded default the database lives and
dies with it; set ``MONGODB_URI`` to run the scenarios on a real MongoDB shared by every
process (the production column).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.redis_clients import is_cluster  # noqa: E402
from app.redis_server import RedisServer, free_port  # noqa: E402

BIN = Path(sys.executable).parent
CLIPS = Path(os.environ.get("BENCH_CACHE", "/tmp/fanhub-bench-faults"))
LOGS = Path(os.environ.get("FAULT_LOG_DIR", "/tmp/fanhub-fault-logs"))


class ScenarioFailed(AssertionError):
    """What must hold did not."""


def check(condition: Any, message: str) -> None:
    if not condition:
        raise ScenarioFailed(message)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise ScenarioFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def fixed_redis(port: int | None = None) -> RedisServer:
    """A redis-server on a port that a restarted one can take again."""
    return RedisServer(port=port or free_port()).start()


def restart_redis_empty(server: RedisServer) -> RedisServer:
    """Stop the Redis and start a new, empty one on the same port."""
    port = server.port
    server.stop()
    return RedisServer(port=port).start()


class WebServer:
    """gunicorn serving ``wsgi:app`` as a child process group (killable like a real deploy)."""

    def __init__(self, redis_url: str, var_dir: str | Path, port: int | None = None,
                 **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var = Path(var_dir)
        self.env = {
            **os.environ,
            "PORT": str(self.port), "HOST": "127.0.0.1",
            "REDIS_URL": redis_url, "SECRET_KEY": "fault-scenarios",
            "VAR_DIR": str(self.var), "MEDIA_DIR": str(self.var / "media"),
            "UPLOAD_DIR": str(self.var / "uploads"), "SEARCH_DIR": str(self.var / "search"),
            "EMBEDDED_WORKER": "1", "WORKER_CONCURRENCY": "4", "DEMO_DATA": "0",
            "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "RATELIMIT_SCALE": "1000",
            "WEB_THREADS": "64", "PYTHONPATH": str(ROOT),
            **{k: str(v) for k, v in env.items()},
        }
        if not is_cluster(redis_url):  # the broker and the Socket.IO queue go with a plain Redis
            for name in ("CELERY_BROKER_URL", "SOCKETIO_MESSAGE_QUEUE"):
                if name not in env:
                    self.env.pop(name, None)
        self.process: subprocess.Popen | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / f"{Path(sys.argv[0]).stem}-web-{self.port}.log"

    def start(self, timeout: float = 60.0) -> WebServer:
        self.var.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
                 "--workers", "1", "wsgi:app"], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout, f"the web server on {self.url} (log: {self.log})")
        return self

    def _up(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ScenarioFailed(f"the web server exited; see {self.log}")
        return requests.get(self.url + "/healthz", timeout=2).status_code in (200, 503)

    def pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            parent = psutil.Process(self.process.pid)
            return [parent.pid, *(c.pid for c in parent.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def children_named(self, name: str) -> list[psutil.Process]:
        found = []
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if proc.name() == name:
                    found.append(proc)
        return found

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, nothing gets to clean up."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


class Client:
    """The contract over HTTP, with the few helpers the scenarios need."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url
        self.api = base_url + "/api/v1"
        self.session = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.api + path, headers=headers, **kwargs)

    def register(self, username: str, kind: str = "fan", **extra) -> dict:
        r = self.call("POST", "/auth/register", json={
            "username": username, "password": "password123", "display_name": username,
            "kind": kind, **extra})
        check(r.status_code == 201, f"register {username}: {r.status_code} {r.text[:200]}")
        data = r.json()
        return {"id": data["account"]["id"], "token": data["token"], "username": username}

    def home_ids(self, token: str, pages: int = 50) -> list[str]:
        ids: list[str] = []
        cursor = None
        for _ in range(pages):
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            r = self.call("GET", "/feed/home", token, params=params)
            check(r.status_code == 200, f"home feed: {r.status_code} {r.text[:200]}")
            body = r.json()
            ids += [p["id"] for p in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return ids

    def upload_file(self, token: str, path: Path) -> requests.Response:
        with open(path, "rb") as fh:
            return self.call("POST", "/media", token, files={"file": (path.name, fh, "video/mp4")},
                             timeout=120)

    def media(self, token: str, media_id: str) -> dict:
        r = self.call("GET", f"/media/{media_id}", token)
        check(r.status_code == 200, f"media {media_id}: {r.status_code} {r.text[:200]}")
        return r.json()


def clip(seconds: float = 2.0, size: str = "640x360", name: str | None = None) -> Path:
    """An H.264 + AAC test clip made by ffmpeg (cached)."""
    CLIPS.mkdir(parents=True, exist_ok=True)
    path = CLIPS / (name or f"clip_{size}_{seconds:g}s.mp4")
    if not path.exists():
        tmp = path.with_suffix(".tmp.mp4")
        subprocess.run([
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(tmp)], check=True)
        tmp.rename(path)
    return path


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"fanhub-{prefix}-") as tmp:
        yield Path(tmp)


def run(main: Callable[[list[str]], dict], argv: list[str] | None = None) -> int:
    """Run a scenario's ``main``; print its figures and PASS/FAIL; the exit status says which."""
    name = Path(sys.modules[main.__module__].__file__ or "scenario").stem
    started = time.monotonic()
    try:
        figures = main(sys.argv[1:] if argv is None else argv) or {}
    except ScenarioFailed as exc:
        print(f"FAIL {name} ({time.monotonic() - started:.1f} s): {exc}", flush=True)
        return 1
    details = ", ".join(f"{k}={v}" for k, v in figures.items())
    print(f"PASS {name} ({time.monotonic() - started:.1f} s){': ' + details if details else ''}",
          flush=True)
    return 0
