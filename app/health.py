"""``GET /healthz``: every component, the backend it uses, 503 naming what is down.

Packages add their own checks with ``register(app, name, check)``; a check returns a dict
(at least ``backend``) or raises.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from flask import Flask, current_app, jsonify

from app.db import ping

Check = Callable[[], dict]


def register(app: Flask, name: str, check: Check) -> None:
    app.extensions.setdefault("health", {})[name] = check


def _mongo() -> dict:
    ping()
    return {"backend": current_app.config["MONGO_BACKEND"]}


def _redis() -> dict:
    current_app.extensions["redis"].ping()
    return {"backend": current_app.config["REDIS_BACKEND"]}


_ffmpeg_version: list[str] = []


def _ffmpeg() -> dict:
    binary = shutil.which(current_app.config["FFMPEG_BINARY"])
    if not binary:
        raise RuntimeError("ffmpeg not found")
    if not _ffmpeg_version:
        out = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=5)
        _ffmpeg_version.append(out.stdout.split("\n", 1)[0])
    return {"backend": binary, "version": _ffmpeg_version[0]}


def _worker() -> dict:
    worker = current_app.extensions.get("embedded_worker")
    if worker is not None:
        if not worker.alive:
            raise RuntimeError("embedded worker thread stopped")
        return {"backend": "embedded celery (threads)"}
    replies = current_app.extensions["celery"].control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no celery worker answered")
    return {"backend": "celery", "workers": len(replies)}


def init_app(app: Flask) -> None:
    for name, check in (("mongo", _mongo), ("redis", _redis), ("ffmpeg", _ffmpeg),
                        ("worker", _worker)):
        register(app, name, check)

    @app.get("/healthz")
    def healthz():
        components: dict = {}
        down = []
        for name, check in current_app.extensions["health"].items():
            try:
                components[name] = {"status": "ok", **check()}
            except Exception as exc:  # any failure is the component being down
                components[name] = {"status": "down", "error": str(exc)[:200]}
                down.append(name)
        body = {"status": "down" if down else "ok", "components": components}
        if down:
            body["down"] = down
        return jsonify(body), 503 if down else 200
