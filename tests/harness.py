"""Run the whole suite once per *shape* of the deployment; fail if any shape fails.

``make test`` runs ``python -m tests.harness [pytest arguments]``:

- ``embedded``: the default with nothing configured: mongomock inside the process and the
  suite's own redis-server (as ``pytest`` alone runs it);
- ``production``: ``MONGODB_URI`` on a mongoeco wire server (a MongoDB-protocol server in
  its own process, ``tests/servers/mongoeco.py``) and ``REDIS_URL`` on a real Redis Cluster
  (3 masters, 3 replicas, ``tests/servers/redis_cluster.py``), with the Celery broker and
  the Socket.IO queue on a plain redis-server, that the harness starts and stops.

``TEST_SHAPES=embedded`` (a comma list) picks shapes. Each shape's environment is built by
small launcher functions (``LAUNCHERS``) that start a server, register its stop, and return
the variables it sets; a shape lists its launchers (``SHAPES``). Each shape's time and counts
are printed, then a closing line with the totals.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.redis_server import RedisServer
from tests.servers.mongoeco import MongoecoServer
from tests.servers.redis_cluster import RedisCluster

ROOT = Path(__file__).resolve().parents[1]

Launcher = Callable[[contextlib.ExitStack, Path], dict[str, str]]


def mongoeco(stack: contextlib.ExitStack, workdir: Path) -> dict[str, str]:
    """A mongoeco wire server (MemoryEngine) for the shape's whole run."""
    server = stack.enter_context(MongoecoServer(log=workdir / "mongoeco.log"))
    return {"MONGODB_URI": server.uri("fanhub_test")}


def redis_cluster(stack: contextlib.ExitStack, workdir: Path) -> dict[str, str]:
    """The data on a Redis Cluster; the broker and the Socket.IO queue on a plain Redis
    (kombu and python-socketio do not speak Cluster)."""
    cluster = RedisCluster(directory=str(workdir / "redis-cluster")).start()
    stack.callback(cluster.stop)
    queues = RedisServer(directory=str(workdir / "redis-queues")).start()
    stack.callback(queues.stop)
    return {"REDIS_URL": cluster.url, "CELERY_BROKER_URL": queues.url,
            "SOCKETIO_MESSAGE_QUEUE": queues.url}


LAUNCHERS: dict[str, Launcher] = {"mongoeco": mongoeco, "redis_cluster": redis_cluster}

# Each shape: the launchers whose servers it runs on (the suite starts its own redis-server
# and embedded parts for whatever is not set).
SHAPES: dict[str, tuple[str, ...]] = {
    "embedded": (),
    "production": ("mongoeco", "redis_cluster"),
}

# What the shapes' servers set; a value inherited from the caller's shell would leak into
# the embedded shape.
_SHAPE_VARIABLES = ("MONGODB_URI", "REDIS_URL", "CELERY_BROKER_URL", "SOCKETIO_MESSAGE_QUEUE",
                    "ELASTICSEARCH_URL", "S3_BUCKET")
_CLOSING = re.compile(r"\d+ (passed|failed|errors?|skipped|deselected)\b.* in [\d.]+s")
_COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def _counts(line: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for number, word in _COUNTS.findall(line):
        word = "error" if word.startswith("error") else word
        counts[word] = counts.get(word, 0) + int(number)
    return counts


def run_shape(name: str, pytest_args: list[str]) -> tuple[int, dict[str, int], float]:
    """Run pytest once on shape ``name``; returns its exit code, counts and seconds."""
    print(f"\n===== shape {name}: starting {', '.join(SHAPES[name]) or 'nothing (embedded)'} =====",
          flush=True)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"shape-{name}-")))
        env = {k: v for k, v in os.environ.items() if k not in _SHAPE_VARIABLES}
        for launcher in SHAPES[name]:
            env.update(LAUNCHERS[launcher](stack, workdir))
        env["TEST_SHAPE"] = name
        process = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        closing = ""  # pytest's closing line (log lines may follow it)
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if _CLOSING.search(line):
                closing = line
        code = process.wait()
    seconds = time.monotonic() - started
    counts = _counts(closing)
    if code == 5:
        print(f"shape {name}: pytest collected no tests", flush=True)
    print(f"===== shape {name}: {'PASS' if code == 0 else f'FAIL (pytest exit {code})'} "
          f"in {seconds:.0f} s =====", flush=True)
    return code, counts, seconds


def main(argv: list[str]) -> int:
    names = [s.strip() for s in os.environ.get("TEST_SHAPES", ",".join(SHAPES)).split(",") if s.strip()]
    unknown = [n for n in names if n not in SHAPES]
    if unknown or not names:
        print(f"TEST_SHAPES: unknown {unknown or 'empty'}; known: {', '.join(SHAPES)}", file=sys.stderr)
        return 2
    results = {name: run_shape(name, argv) for name in names}
    total: dict[str, int] = {}
    for _code, counts, _seconds in results.values():
        for word, number in counts.items():
            total[word] = total.get(word, 0) + number
    print("\n===== shapes =====")
    for name, (code, counts, seconds) in results.items():
        described = ", ".join(f"{n} {w}" for w, n in counts.items()) or "no counts"
        print(f"{name:<12} {'PASS' if code == 0 else 'FAIL':<5} {seconds:7.0f} s   {described}")
    failed_shapes = [name for name, (code, _c, _s) in results.items() if code != 0]
    seconds = sum(s for _c, _n, s in results.values())
    # a shape that failed without a failed test (a crash, pytest's exit 5 for no tests run)
    # counts as one failure: it never passes silently
    failed = sum(max(counts.get("failed", 0) + counts.get("error", 0), 1 if code else 0)
                 for code, counts, _s in results.values())
    line = f"{total.get('passed', 0)} passed, {failed} failed"
    if total.get("skipped"):
        line += f", {total['skipped']} skipped"
    print(f"===== {line} in {seconds:.0f} s ({len(results)} shapes"
          f"{'; failed: ' + ', '.join(failed_shapes) if failed_shapes else ''}) =====")
    print(f"harness: {line}")
    return 1 if failed_shapes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
