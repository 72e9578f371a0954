"""Separate OS processes for the cross-process live tests: gunicorn web servers (the
production ``gunicorn.conf.py``, with its gthread or gevent worker; websockets through
simple-websocket) and a worker-like emitter (``worker_process.py``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.redis_clients import is_cluster
from app.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "ELASTICSEARCH_URL")}
    if not is_cluster(redis_url):  # the broker and the Socket.IO queue go with a plain Redis
        env.pop("CELERY_BROKER_URL", None)
        env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    env.update(REDIS_URL=redis_url, SECRET_KEY="test-secret", VAR_DIR=str(var_dir),
               PYTHONPATH=str(ROOT), **extra)
    return env


class WebProcess:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` on a free port, sharing ``redis_url``."""

    def __init__(self, redis_url: str, var_dir: Path, worker_class: str = "gthread",
                 threads: int = 40, **env: str) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = var_dir / "gunicorn.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
                 "wsgi:app"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env=_env(redis_url, var_dir, HOST="127.0.0.1", PORT=str(self.port),
                         WEB_CONCURRENCY="1", WEB_THREADS=str(threads),
                         WEB_WORKER_CLASS=worker_class, **env))

    def wait_ready(self, timeout: float = 60) -> WebProcess:
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
                return self
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def readme_error_pages() -> str:
    """The README nginx configuration's lines from ``large_client_header_buffers`` to the end
    of its ``location /_errors/`` block."""
    text = (ROOT / "README.md").read_text()
    start = text.index("    large_client_header_buffers")
    end = text.index("\n    }\n", text.index("    location /_errors/", start)) + 7
    return text[start:end]


class NginxProcess:
    """Debian's nginx in front of ``upstream`` (a ``host:port``), configured as the README's
    ``location /`` (``X-Forwarded-For`` appended, ``X-Forwarded-Proto`` set), with the README's
    header buffers and JSON error pages (copied from README.md, so the test checks those)."""

    CONFIG = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream fanhub_api {{ server {upstream}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port};
{errors}        location / {{
            proxy_pass http://fanhub_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""

    def __init__(self, upstream: str, var_dir: Path) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        var_dir.chmod(0o777)  # nginx's worker may run as nobody
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = var_dir / "nginx.conf"
        config.write_text(self.CONFIG.format(dir=var_dir, upstream=upstream, port=self.port,
                                             errors=readme_error_pages()))
        self.log = var_dir / "error.log"
        self.process = subprocess.Popen(["nginx", "-p", str(var_dir), "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 20) -> NginxProcess:
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.url + "/healthz", timeout=10)
                return self
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log.read_text() if self.log.exists() else ""
                    raise RuntimeError(f"nginx did not start:\n{log[-3000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class WorkerProcess:
    """The worker-like emitter: JSON commands in, one JSON answer line each."""

    def __init__(self, redis_url: str, var_dir: Path) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        self.stderr = open(var_dir / "worker.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("worker_process.py"))],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True, env=_env(redis_url, var_dir))

    def _answer(self) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the worker process exited")
            try:
                return json.loads(line)
            except ValueError:
                continue  # not ours (a library printing)

    def wait_ready(self) -> WorkerProcess:
        assert "ready" in self._answer()
        return self

    def __call__(self, op: str, **fields) -> object:
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._answer()["result"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()
