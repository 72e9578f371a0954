"""Time spent waiting on MongoDB, per route: pymongo's command monitoring summed per request.

Off unless ``MONGODB_COMMAND_STATS`` is set (the topology proof sets it). Each process writes
its totals every few seconds to ``$VAR_DIR/dbstats/<pid>.json``: per route the requests, the
server time and the MongoDB time (from a command's start to its reply, as the app waits for
it), and the MongoDB time spent outside requests (jobs).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, g, request
from pymongo import monitoring

WRITE_EVERY_SECONDS = 5.0
_local = threading.local()
_totals: dict[str, list[float]] = {}  # route -> [requests, server µs, mongo µs, commands]
_outside = [0.0, 0]  # mongo µs and commands outside any request (jobs, start-up)
_lock = threading.Lock()


class _Listener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        _add(event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        _add(event.duration_micros)


def _add(micros: int) -> None:
    spent = getattr(_local, "spent", None)
    if spent is not None:
        spent[0] += micros
        spent[1] += 1
    else:
        with _lock:
            _outside[0] += micros
            _outside[1] += 1


def _write(path: Path) -> None:
    while True:
        time.sleep(WRITE_EVERY_SECONDS)
        with _lock:
            body = {"pid": os.getpid(), "routes": {k: list(v) for k, v in _totals.items()},
                    "outside_requests": list(_outside)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(path)


def init_app(app: Flask) -> None:
    """Call before the MongoDB client is made (listeners apply to clients made after)."""
    monitoring.register(_Listener())
    folder = Path(app.config["VAR_DIR"]) / "dbstats"
    folder.mkdir(parents=True, exist_ok=True)
    threading.Thread(target=_write, args=(folder / f"{os.getpid()}.json",), daemon=True,
                     name="dbstats").start()

    @app.before_request
    def _start() -> None:
        _local.spent = [0.0, 0]
        g.dbstats_started = time.perf_counter()

    @app.teardown_request
    def _finish(_exc: BaseException | None) -> None:
        spent, _local.spent = getattr(_local, "spent", None), None
        started = g.get("dbstats_started")
        if spent is None or started is None:
            return
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        route = f"{request.method} {rule}"
        with _lock:
            entry = _totals.setdefault(route, [0, 0.0, 0.0, 0])
            entry[0] += 1
            entry[1] += (time.perf_counter() - started) * 1e6
            entry[2] += spent[0]
            entry[3] += spent[1]
