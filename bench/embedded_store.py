"""What keeping the embedded store on disk costs (``app/snapshots.py``): ``make run``'s server
with the demo data, with snapshots on (the default) and off (``STORE_SNAPSHOT_SECONDS=0``, the
floor: the store only in memory).

For each: the demo's load time (the server's own log line), then home-feed reads of a demo
fan, one after another, while a writer likes and unlikes posts without pause (so the store is
always dirty and a snapshot runs every 2 s). With snapshots on, the server is then stopped
(SIGTERM) and started again: the stop's and the restart's time, the store's read time, that the
demo was not loaded twice, and the same feed reads once more.

    .venv/bin/python -m bench.embedded_store [--reads 300]
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.servers.fanhub import MAKE_RUN, Process

API = "/api/v1"
DEMO = {"DEMO_DATA": "1"}


def _login(url: str, username: str) -> str:
    r = requests.post(url + API + "/auth/token", json={"username": username,
                                                       "password": "demo password"}, timeout=30)
    r.raise_for_status()
    return r.json()["token"]


def _wait_demo(server: Process) -> float:
    server.wait_log("demo data:", timeout=900)
    found = re.search(r"demo data: .* in ([\d.]+) s", server.log.read_text())
    return float(found.group(1))


class Writer(threading.Thread):
    """Likes and unlikes the feed's posts without pause: the store changes all the time."""

    def __init__(self, url: str, token: str, post_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.post_ids = url, token, post_ids
        self.stopping = threading.Event()
        self.writes = 0

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        while not self.stopping.is_set():
            for post_id in self.post_ids:
                for method in ("POST", "DELETE"):
                    session.request(method, f"{self.url}{API}/posts/{post_id}/like", timeout=30)
                    self.writes += 1
                if self.stopping.is_set():
                    return


def _reads(url: str, reads: int) -> dict:
    reader, writer_token = _login(url, "fan0001"), _login(url, "fan0002")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {reader}"
    page = session.get(url + API + "/feed/home", timeout=30).json()
    writer = Writer(url, writer_token, [p["id"] for p in page["items"][:5]])
    writer.start()
    times = []
    try:
        for _ in range(reads):
            started = time.perf_counter()
            r = session.get(url + API + "/feed/home", timeout=30)
            times.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
    finally:
        writer.stopping.set()
        writer.join()
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1],
            "max": times[-1], "writes": writer.writes}


def _row(name: str, figures: dict, floor: dict | None) -> str:
    ratio = f"{figures['p50'] / floor['p50']:.2f}x" if floor else "floor"
    return (f"{name:<28} p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
            f"max {figures['max']:7.1f} ms  ({figures['writes']} likes meanwhile)  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="embedded-store-bench-"))

    floor_server = Process(MAKE_RUN, root / "off", STORE_SNAPSHOT_SECONDS="0", **DEMO).start()
    try:
        floor_server.wait_ready()
        floor_demo = _wait_demo(floor_server)
        floor = _reads(floor_server.url, args.reads)
    finally:
        floor_server.stop(signal.SIGTERM)

    server = Process(MAKE_RUN, root / "on", **DEMO).start()
    try:
        server.wait_ready()
        demo = _wait_demo(server)
        kept = _reads(server.url, args.reads)
    finally:
        code, stop_seconds = server.stop(signal.SIGTERM)
    snapshot = root / "on" / "store" / "fanhub.bson"
    started = time.monotonic()
    again = Process(MAKE_RUN, root / "on", "restarted", **DEMO).start()
    try:
        again.wait_ready()
        ready_seconds = time.monotonic() - started
        again.wait_log("demo data:")
        log = again.log.read_text()
        loaded = re.findall(r"embedded store: (\d+) documents read from .* in ([\d.]+) s", log)[-1]
        twice = "already loaded" not in log
        restarted = _reads(again.url, args.reads)
    finally:
        again.stop(signal.SIGTERM)

    print(f"demo data load: {floor_demo:.1f} s in memory only (floor), {demo:.1f} s with "
          f"snapshots ({demo / floor_demo:.2f}x)")
    print(f"store on disk: {snapshot.stat().st_size / 1e6:.2f} MB, {loaded[0]} documents")
    print(f"SIGTERM stop: exit {code} in {stop_seconds:.1f} s; restart to ready: "
          f"{ready_seconds:.1f} s (store read in {loaded[1]} s); demo loaded twice: {twice}")
    print(f"home feed reads ({args.reads}, one at a time, a writer liking and unliking meanwhile):")
    print(_row("in memory only (floor)", floor, None))
    print(_row("snapshots every 2 s", kept, floor))
    print(_row("after the restart", restarted, floor))


if __name__ == "__main__":
    main()
