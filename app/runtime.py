"""What the embedded default starts inside the web process, and stops when it exits.

The embedded store kept under ``VAR_DIR/store`` (``app/snapshots.py``), a private
redis-server when ``REDIS_URL`` is not set (its data kept in an append-only file under
``VAR_DIR/redis``), a Celery worker on a thread pool when ``EMBEDDED_WORKER`` is on, the
operator's admin account, and the demo data.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import Flask

from app.accounts.service import ensure_admin
from app.celery_app import EmbeddedWorker
from app.config import queue_urls
from app.extensions import socketio
from app.redis_clients import connect, is_cluster
from app.redis_server import RedisServer
from app.snapshots import Snapshots
from feed.demo import load_demo

log = logging.getLogger(__name__)


def init_store(app: Flask) -> None:
    """Read the embedded store back from ``VAR_DIR/store`` and keep it written there."""
    seconds = app.config["STORE_SNAPSHOT_SECONDS"]
    if app.config["MONGO_BACKEND"] == "mongomock" and seconds > 0:
        directory = os.path.join(app.config["VAR_DIR"], "store")
        app.extensions["store_snapshots"] = Snapshots(directory, seconds).start()


def init_redis(app: Flask) -> None:
    if not app.config["REDIS_URL"]:
        # persistent when the store is: timelines, counters, queued jobs and unflushed views
        # survive a restart with the documents they belong to
        persistent = "store_snapshots" in app.extensions
        server = RedisServer(directory=os.path.join(app.config["VAR_DIR"], "redis"),
                             persistent=persistent).start()
        app.extensions["redis_server"] = server
        app.config["REDIS_URL"] = server.url
        app.config["REDIS_BACKEND"] = "embedded redis-server"
    else:
        app.config.setdefault("REDIS_BACKEND",
                              "redis cluster" if is_cluster(app.config["REDIS_URL"]) else "redis")
    broker, message_queue = queue_urls(app.config["REDIS_URL"], app.config["CELERY_BROKER_URL"],
                                       app.config["SOCKETIO_MESSAGE_QUEUE"])
    app.config.update(CELERY_BROKER_URL=broker, SOCKETIO_MESSAGE_QUEUE=message_queue)
    data = connect(app.config["REDIS_URL"], decode_responses=True, health_check_interval=30,
                   socket_connect_timeout=2, socket_timeout=app.config["REDIS_SOCKET_TIMEOUT"])
    app.extensions["redis"] = data
    # the plain Redis of the Socket.IO queue, also carrying the live control channel
    app.extensions["redis_queue"] = (data if message_queue == app.config["REDIS_URL"] else
                                     connect(message_queue, decode_responses=True,
                                             health_check_interval=30, socket_connect_timeout=2,
                                             socket_timeout=app.config["REDIS_SOCKET_TIMEOUT"]))


def start(app: Flask) -> None:
    """Start the in-process parts once the app is fully built."""
    if app.config.get("ADMIN_USERNAME") and app.config.get("ADMIN_PASSWORD"):
        with app.app_context():
            ensure_admin(app.config["ADMIN_USERNAME"], app.config["ADMIN_PASSWORD"])
    if app.config["EMBEDDED_WORKER"]:
        worker = EmbeddedWorker(app.extensions["celery"], app.config["WORKER_CONCURRENCY"])
        private = app.extensions.get("redis_server")
        if private is not None and app.config["CELERY_BROKER_URL"] == private.url:
            worker.restore_unacked()  # its own broker: what is unacknowledged was its own
        app.extensions["embedded_worker"] = worker.start()
    if app.config["DEMO_DATA"]:
        threading.Thread(target=_load_demo, args=(app,), name="demo-data", daemon=True).start()
    atexit.register(stop, app)


def begin_stop(app: Flask) -> None:
    """The process was told to stop (gunicorn's worker got SIGTERM or SIGINT): close every
    Socket.IO connection, and keep closing new ones, so that no websocket holds its thread
    (or greenlet) until gunicorn's graceful timeout, and start stopping the worker while the
    requests in flight finish. Clients reconnect to another process or to the restarted one."""
    stopping = app.extensions.setdefault("stopping", threading.Event())
    if stopping.is_set():
        return
    stopping.set()
    threading.Thread(target=_close_sockets, name="close-sockets", daemon=True).start()
    worker = app.extensions.get("embedded_worker")
    if worker is not None:
        threading.Thread(target=worker.stop, name="stop-worker", daemon=True).start()


def _close_sockets(seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if socketio.server is not None:
            socketio.server.eio.disconnect()
        time.sleep(0.2)


def stop(app: Flask) -> None:
    """Stop the in-process parts in order: the worker finishes its jobs or hands them back
    (within ``STOP_SECONDS``), the store is written a last time, then the redis-server stops
    (its append-only file synced). Idempotent; called by gunicorn's ``worker_exit`` hook and
    at exit."""
    worker = app.extensions.get("embedded_worker")
    if worker is not None:
        worker.stop()
    snapshots = app.extensions.get("store_snapshots")
    if snapshots is not None:
        snapshots.stop()
    redis_server = app.extensions.get("redis_server")
    if redis_server is not None:
        redis_server.stop()


def _load_demo(app: Flask) -> None:
    with app.app_context():
        try:
            started = time.monotonic()
            loaded = load_demo(progress=False)
            log.warning("demo data: %s in %.1f s", loaded, time.monotonic() - started)
        except Exception:  # the demo is a convenience; the service runs without it
            log.exception("loading demo data failed")
