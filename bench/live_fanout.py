"""Live fan-out: 1,000 real websocket Socket.IO clients on one gunicorn web process.

    .venv/bin/python -m bench.live_fanout [--clients 1000] [--posts 20] [--worker-class gevent]
        [--client-kinds socketio,lean] [--client-loop uvloop|asyncio] [--client-json orjson|json]

Processes, as in production: one web process (``gunicorn -c gunicorn.conf.py wsgi:app``, one
worker, ``WEB_WORKER_CLASS`` gevent or gthread) holds every websocket; this process is the
worker (the app with its Celery worker: publishing a post runs the real fan-out job, which
writes the timelines and emits ``feed.new`` through the Redis message queue); the clients
run in two more processes. With two or more CPUs the web process gets CPU 0 to itself and
everything else shares the rest, as if the web process had its own machine.

Without MONGODB_URI each process has its own mongomock, so this process seeds the accounts,
follows and tokens and warms the Redis caches the web process reads (tokens, accounts,
follow sets): the path a production web process takes when its caches are warm.

Measured, for posts by an author every client follows:

- publish -> receipt: from ``feed.posts.create`` (the service call behind ``POST /posts``)
  to each client's ``feed.new``: the job queue, the fan-out, the Redis queue, the websockets;
- emit -> receipt: from ``app.live.emit`` of a post-sized ``feed.new`` to receipt: delivery
  alone, without the worker's own work (the fan-out job after a publish) on the clients' CPU;
- exactly once: every client gets every post once;
- memory per idle connection: the web process's RSS delta / connections.

Two kinds of clients, both speaking Engine.IO 4 / Socket.IO 5 over real websockets:
python-socketio's ``AsyncClient`` and a lean client (same protocol, less Python per message),
which shows what the server does when the clients' own CPU is not the limit. The floor is
the same publish with one connected client, in the same run; ratios are printed against it.
Clock: CLOCK_MONOTONIC, shared by all processes of this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


# --- the client processes -------------------------------------------------------------------


class _Recorder:
    """Receipt times per post id, and how many receipts were repeats."""

    def __init__(self) -> None:
        self.received: dict[str, list[float]] = {}
        self.duplicates = 0

    def client(self) -> Callable[[dict], None]:
        seen: set[str] = set()

        def on_new(data: dict) -> None:
            t = now()
            post_id = data["post"]["id"]
            if post_id in seen:
                self.duplicates += 1
                return
            seen.add(post_id)
            self.received.setdefault(post_id, []).append(t)

        return on_new


class OrjsonCodec:
    """The ``json`` interface python-socketio encodes and decodes packets with (its documented
    ``json=`` parameter), backed by orjson: the stdlib's ``json.loads`` of a post-sized event
    is a large part of what a Python client spends per message."""

    @staticmethod
    def dumps(obj: object, **_kwargs: object) -> str:
        import orjson

        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **_kwargs: object) -> object:
        import orjson

        return orjson.loads(data)


async def _socketio_client(url: str, token: str, on_new: Callable[[dict], None],
                           codec: str = "orjson"):
    """python-socketio's own AsyncClient (aiohttp websocket), unmodified; only its documented
    options are set (``json=``; loggers stay off)."""
    import socketio

    options = {"json": OrjsonCodec} if codec == "orjson" else {}
    client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False,
                                  **options)
    client.on("feed.new", on_new)  # a plain function: no coroutine per event

    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
    return client


class _LeanClient:
    """A minimal Engine.IO 4 / Socket.IO 5 client over an aiohttp websocket: open, connect
    with auth, answer pings, decode events. Same wire protocol, less per-message Python than
    python-socketio, so 1,000 of them in one process on this 2-core machine measure the server
    rather than the clients."""

    def __init__(self, session, ws, task=None) -> None:
        self.session, self.ws, self.task, self.connected = session, ws, task, True

    @classmethod
    async def connect(cls, session, url: str, token: str, on_new: Callable[[dict], None]):
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        ws = await session.ws_connect(ws_url, autoping=False)
        opened = await ws.receive_str()
        assert opened.startswith("0{"), opened
        await ws.send_str("40" + json.dumps({"token": token}))
        reply = await ws.receive_str()
        if not reply.startswith("40"):
            raise RuntimeError(f"refused: {reply}")
        client = cls(session, ws)
        client.task = asyncio.create_task(client._read(on_new))
        return client

    async def _read(self, on_new) -> None:
        async for message in self.ws:
            data = message.data
            if data == "2":
                await self.ws.send_str("3")
            elif data.startswith("42"):
                event, payload = json.loads(data[2:])
                if event == "feed.new":
                    on_new(payload)
        self.connected = False

    async def disconnect(self) -> None:
        await self.ws.close()


async def _clients(url: str, tokens: list[str], kind: str, codec: str) -> None:
    """Connect every token, then obey JSON commands on stdin: ``count``, ``collect``, ``quit``."""
    import aiohttp

    recorder = _Recorder()
    clients: list = []
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def connect(token: str) -> None:
        for attempt in range(5):
            try:
                if kind == "lean":
                    client = await _LeanClient.connect(session, url, token, recorder.client())
                else:
                    client = await _socketio_client(url, token, recorder.client(), codec)
                clients.append(client)
                return
            except Exception:
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError("a client could not connect")

    for start in range(0, len(tokens), 50):
        await asyncio.gather(*(connect(t) for t in tokens[start:start + 50]))
    print(json.dumps({"connected": sum(c.connected for c in clients)}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "count":
            count = len(recorder.received.get(command["post_id"], ()))
            print(json.dumps({"count": count}), flush=True)
        elif command["op"] == "collect":
            print(json.dumps({"received": recorder.received, "duplicates": recorder.duplicates,
                              "connected": sum(c.connected for c in clients)}), flush=True)
        elif command["op"] == "quit":
            break
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    await session.close()


class ClientProcess:
    options: list[str] = []  # --client-loop / --client-json, passed on to the client processes

    def __init__(self, url: str, tokens: list[str], kind: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.live_fanout", "--client-mode", url, "--client-kind", kind,
             *self.options],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(json.dumps(tokens) + "\n")
        self.proc.stdin.flush()

    def answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a client process died")
        return json.loads(line)

    def send(self, op: str, **fields) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


def client_mode(url: str, kind: str, loop: str, codec: str) -> None:
    tokens = json.loads(sys.stdin.readline())
    if loop == "uvloop":  # libuv's event loop: less CPU per read and per task than asyncio's
        import uvloop

        uvloop.run(_clients(url, tokens, kind, codec))
    else:
        asyncio.run(_clients(url, tokens, kind, codec))


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- the server -----------------------------------------------------------------------------


def serve(redis_url: str, clients: int, worker_class: str) -> tuple[subprocess.Popen, str]:
    from app.redis_server import free_port

    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": "bench", "EMBEDDED_WORKER": "0",
           "DEMO_DATA": "0", "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1",
           "WEB_WORKER_CLASS": worker_class, "WEB_THREADS": str(clients + 64),
           "VAR_DIR": tempfile.mkdtemp(prefix="live-bench-web-")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.time() + 120
    while True:
        try:
            requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=5)
            return proc, url
        except requests.RequestException:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(proc.stderr.read().decode()[-3000:]) from None
            time.sleep(0.2)


def worker_pid(master: int) -> int:
    with open(f"/proc/{master}/task/{master}/children") as fh:
        return int(fh.read().split()[0])


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


# --- seeding, in this (worker) process --------------------------------------------------------


def make_app(redis_url: str):
    from app.factory import create_app

    return create_app(REDIS_URL=redis_url, SECRET_KEY="bench", DEMO_DATA=False,
                      EMBEDDED_WORKER=True, WORKER_CONCURRENCY=2, RATELIMIT_ENABLED=False,
                      VAR_DIR=tempfile.mkdtemp(prefix="live-bench-worker-"))


def seed(app, fans: int) -> dict:
    from app.accounts import service, tokens
    from feed import follows

    def account(name: str, kind: str):
        return service.register({"username": name, "password": "bench password",
                                 "display_name": name, "kind": kind}, password_hash="x")

    with app.app_context():
        author = account("live_author", "merchant")
        ids, fan_tokens = [], []
        for i in range(fans):
            fan = account(f"live_fan{i}", "fan")
            follows.follow(fan, str(author.id))
            ids.append(str(fan.id))
            fan_tokens.append(tokens.issue(fan.id))
    return {"author_id": str(author.id), "fan_ids": ids, "fans": fan_tokens}


def warm(app, seeded: dict) -> None:
    """The Redis caches the web process reads when a client connects (see the docstring)."""
    from app.accounts import service
    from feed import graph

    with app.app_context():
        for account_id in [seeded["author_id"], *seeded["fan_ids"]]:
            service.get(account_id)
            graph.following_ids(account_id)
            graph.hidden_ids(account_id)
            graph.blocked_by(account_id)


# --- the measurement ------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_posts(send: Callable[[int], tuple[str, float]], procs: list[ClientProcess], posts: int,
              expected: int, server_pid: int) -> dict:
    """Send ``posts`` posts one after another, each once every client has the previous one."""
    sent: dict[str, float] = {}
    cpu_before = [cpu_ms(server_pid)] + [cpu_ms(proc.proc.pid) for proc in procs]
    for i in range(posts):
        post_id, t0 = send(i)
        sent[post_id] = t0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.05)
            for proc in procs:
                proc.send("count", post_id=post_id)
            if sum(proc.answer()["count"] for proc in procs) >= expected:
                break
    time.sleep(0.3)  # a duplicate would arrive right behind
    cpu_after = [cpu_ms(server_pid)] + [cpu_ms(proc.proc.pid) for proc in procs]
    spent = [(after - before) / posts for before, after in zip(cpu_before, cpu_after)]
    for proc in procs:
        proc.send("collect")
    answers = [proc.answer() for proc in procs]
    latencies, counts, p99_by_post = [], {}, []
    for post_id, t0 in sent.items():
        times = [t for a in answers for t in a["received"].get(post_id, [])]
        counts[post_id] = len(times)
        latencies += [(t - t0) * 1000 for t in times]
        if times:
            p99_by_post.append(round(percentile([(t - t0) * 1000 for t in times], 99), 1))
    duplicates = sum(a["duplicates"] for a in answers)
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "max": max(latencies), "mean": statistics.fmean(latencies),
            "receipts": len(latencies), "posts": posts, "duplicates": duplicates,
            "missing": sum(expected - c for c in counts.values()),
            "exactly_once": duplicates == 0 and all(c == expected for c in counts.values()),
            "cpu_ms_per_post": {"server": round(spent[0], 1), "clients": round(sum(spent[1:]), 1)},
            "p99_by_post": p99_by_post,
            "sent": sent}


def connect(url: str, tokens: list[str], kind: str, procs: int) -> tuple[list[ClientProcess], int]:
    share = -(-len(tokens) // procs)
    started = [ClientProcess(url, tokens[i:i + share], kind) for i in range(0, len(tokens), share)]
    return started, sum(proc.answer()["connected"] for proc in started)


def pin(pid: int, cpus: set[int]) -> None:
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--worker-class", default="gevent", choices=["gevent", "gthread"])
    parser.add_argument("--client-kinds", default="socketio,lean")
    parser.add_argument("--worker-nice", type=int, default=10)
    parser.add_argument("--client-kind", default="socketio", choices=["socketio", "lean"])
    parser.add_argument("--client-loop", choices=["uvloop", "asyncio"],
                        default="uvloop" if _has("uvloop") else "asyncio")
    parser.add_argument("--client-json", choices=["orjson", "json"],
                        default="orjson" if _has("orjson") else "json",
                        help="python-socketio clients' json= module")
    parser.add_argument("--client-mode")
    args = parser.parse_args()
    if args.client_mode:
        client_mode(args.client_mode, args.client_kind, args.client_loop, args.client_json)
        return
    ClientProcess.options = ["--client-loop", args.client_loop, "--client-json", args.client_json]

    from app.redis_server import RedisServer

    redis = RedisServer().start()
    started = time.monotonic()
    app = make_app(redis.url)
    seeded = seed(app, args.clients)
    print(f"seeded {args.clients} followers in {time.monotonic() - started:.0f}s", flush=True)
    cpus = sorted(os.sched_getaffinity(0))
    pinned = len(cpus) >= 2  # the web process gets a CPU of its own, as on its own machine
    if pinned:
        for other in (os.getpid(), redis.process.pid):
            pin(other, set(cpus[1:]))
    # This process is the worker: in production its jobs (the fan-out's timeline writes,
    # search indexing) run on other machines, not on the clients' CPU; here the job threads
    # yield to them (Linux nice values are per thread; the main thread, which publishes and
    # starts the other processes, keeps its priority).
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and thread.native_id:
            os.setpriority(os.PRIO_PROCESS, thread.native_id, args.worker_nice)
    from app import live

    room = live.feed_room(seeded["author_id"], "default")
    emitted: dict[str, float] = {}

    live_emit = live.emit

    def timed_emit(event, payload, to):  # when the job's live step emits feed.new
        if event == "feed.new":
            emitted.setdefault(payload["post"]["id"], now())
        live_emit(event, payload, to)

    live.emit = timed_emit

    def publish(i: int) -> tuple[str, float]:
        from app.accounts import service
        from feed import posts

        time.sleep(1.0)  # the previous post's other jobs (search indexing) are done
        with app.app_context():
            author = service.get(seeded["author_id"])
            t0 = now()
            post = posts.create(author, {"kind": "post", "text": f"live {i} {time.time_ns()}"})
        return str(post.id), t0

    template: dict = {}

    def emit(i: int) -> tuple[str, float]:
        """A feed.new of the real size (a published post's JSON) straight onto the queue."""
        from feed import hydrate

        with app.app_context():
            if not template:
                with_post = publish(-1)[0]
                time.sleep(1.0)
                template.update(hydrate.posts_json([with_post], None, check=False)[0])
            post_id = f"emit-{i}-{time.time_ns()}"
            payload = {"post": {**template, "id": post_id}, "cursor": template["cursor"]}
            t0 = now()
            live_emit("feed.new", payload, room)
        return post_id, t0

    def job_ms(result: dict) -> dict:
        """Publish -> the job's emit, for the posts of a run (the fan-out job's own time)."""
        spans = [(emitted[p] - t0) * 1000 for p, t0 in result.pop("sent").items() if p in emitted]
        return {"p50": percentile(spans, 50), "p99": percentile(spans, 99)}

    report: dict = {"clients": args.clients, "posts": args.posts, "worker_class": args.worker_class,
                    "client_procs": args.client_procs, "client_loop": args.client_loop,
                    "client_json": args.client_json,
                    "cpus": len(cpus), "pinned": pinned, "worker_nice": args.worker_nice,
                    "load_before": os.getloadavg(), "runs": {}}
    procs: list[ClientProcess] = []
    server = None
    try:
        for kind in args.client_kinds.split(","):
            warm(app, seeded)  # the account cache lives 5 minutes
            server, url = serve(redis.url, args.clients, args.worker_class)
            pid = worker_pid(server.pid)
            if pinned:
                pin(pid, {cpus[0]})
            procs, _ = connect(url, seeded["fans"][:1], kind, 1)
            floor = {"emit": run_posts(emit, procs, args.posts, 1, pid),
                     "publish": run_posts(publish, procs, args.posts, 1, pid)}
            floor["job"] = job_ms(floor["publish"])
            floor["emit"].pop("sent")
            for proc in procs:
                proc.stop()
            time.sleep(2)
            rss_before, threads_before = rss_kib(pid), threads_of(pid)
            procs, connected = connect(url, seeded["fans"][:args.clients], kind,
                                       args.client_procs)
            if pinned:
                for proc in procs:
                    pin(proc.proc.pid, set(cpus[1:]))
            time.sleep(3)  # idle: every connection settled
            rss_after, threads_after = rss_kib(pid), threads_of(pid)
            run = {"connected": connected, "emit": run_posts(emit, procs, args.posts, connected, pid),
                   "publish": run_posts(publish, procs, args.posts, connected, pid), "floor": floor,
                   "rss_before_kib": rss_before, "rss_after_kib": rss_after,
                   "kib_per_idle_connection": round((rss_after - rss_before) / connected, 1),
                   "threads_per_connection": round((threads_after - threads_before) / connected, 1)}
            run["job"] = job_ms(run["publish"])
            run["emit"].pop("sent")
            report["runs"][kind] = run
            for proc in procs:
                proc.stop()
            procs = []
            os.killpg(server.pid, signal.SIGINT)
            server.wait(30)
            server = None
    finally:
        for proc in procs:
            proc.stop()
        if server is not None:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(30)
        worker = app.extensions.get("embedded_worker")
        if worker:
            worker.stop()
        redis.stop()
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    print()
    print(f"one gunicorn process ({args.worker_class}), {args.clients} clients, "
          f"{args.posts} posts, {len(cpus)} CPUs, load average {report['load_before'][0]:.1f} "
          f"before and {report['load_after'][0]:.1f} after (other work on the machine skews "
          f"latencies)")
    print(f"clients: {args.client_procs} processes, {args.client_loop} event loop, "
          f"{args.client_json} for python-socketio's json=")
    for kind, run in report["runs"].items():
        print(f"{kind} clients: {run['connected']} connected, "
              f"{run['kib_per_idle_connection']} KiB and {run['threads_per_connection']} threads "
              f"per idle connection")
        print(f"  the fan-out job (publish -> its emit): p50 {run['job']['p50']:.1f} ms  "
              f"p99 {run['job']['p99']:.1f} ms  (1 follower online: the job is the same)")
        for name in ("publish", "emit"):
            result, base = run[name], run["floor"][name]
            print(f"  {name:>7} -> receipt: p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms"
                  f"  (floor, 1 client: p50 {base['p50']:5.1f}  p99 {base['p99']:5.1f}; "
                  f"p99 {result['p99'] / base['p99']:.1f}x)  exactly once: {result['exactly_once']}"
                  f" ({result['receipts']} receipts)  CPU per post: web process "
                  f"{result['cpu_ms_per_post']['server']} ms, clients "
                  f"{result['cpu_ms_per_post']['clients']} ms")
        met = {"p99 < 250 ms": run["publish"]["p99"] < 250,
               "exactly once": run["publish"]["exactly_once"] and run["emit"]["exactly_once"],
               "<= 100 KB per connection": run["kib_per_idle_connection"] * 1024 <= 100_000}
        print("  targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items()))


if __name__ == "__main__":
    main()
