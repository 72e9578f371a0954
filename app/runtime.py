"""What the embedded default starts inside the web process, and stops when it exits.

A private redis-server when ``REDIS_URL`` is not set, a Celery worker on a thread pool when
``EMBEDDED_WORKER`` is on, the operator's admin account, and the demo data.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

import redis
from flask import Flask

from app.redis_server import RedisServer

log = logging.getLogger(__name__)


def init_redis(app: Flask) -> None:
    if not app.config["REDIS_URL"]:
        server = RedisServer(directory=os.path.join(app.config["VAR_DIR"], "redis")).start()
        app.extensions["redis_server"] = server
        app.config["REDIS_URL"] = server.url
        app.config["REDIS_BACKEND"] = "embedded redis-server"
    else:
        app.config.setdefault("REDIS_BACKEND", "redis")
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], decode_responses=True, health_check_interval=30
    )


def start(app: Flask) -> None:
    """Start the in-process parts once the app is fully built."""
    if app.config.get("ADMIN_USERNAME") and app.config.get("ADMIN_PASSWORD"):
        with app.app_context():
            from app.accounts.service import ensure_admin

            ensure_admin(app.config["ADMIN_USERNAME"], app.config["ADMIN_PASSWORD"])
    if app.config["EMBEDDED_WORKER"]:
        from app.celery_app import EmbeddedWorker

        worker = EmbeddedWorker(app.extensions["celery"], app.config["WORKER_CONCURRENCY"]).start()
        app.extensions["embedded_worker"] = worker
        atexit.register(worker.stop)
    if app.config["DEMO_DATA"]:
        threading.Thread(target=_load_demo, args=(app,), name="demo-data", daemon=True).start()


def _load_demo(app: Flask) -> None:
    try:
        from feed.demo import load_demo
    except ImportError:
        return
    with app.app_context():
        try:
            load_demo(progress=False)
        except Exception:  # the demo is a convenience; the service runs without it
            log.exception("loading demo data failed")
