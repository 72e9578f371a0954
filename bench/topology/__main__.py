"""``python -m bench.topology`` (``make topology``): the Procfile topology, the load test
through nginx, then five faults. Each part prints PASS or FAIL; the exit status is non-zero
if any failed. Figures go to ``$LOAD_OUT`` (``/tmp/fanhub-load``) as JSON and Markdown.

    python -m bench.topology [--minutes 2] [--users 40] [--fans 300] [--merchants 20]
                             [--followers 20000] [--only load,fanout,transcode,outbox,beat,mongo]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import requests
import socketio
from bson import ObjectId

from app.redis_server import free_port
from bench.faults.harness import Client, ScenarioFailed, check, clip, wait_for
from bench.load.run import OUT, reconcile, report, run_locust, seed
from bench.topology.stack import Topology, procfile

PARTS = ["load", "fanout", "transcode", "outbox", "beat", "mongo"]
ACTIVE_SECONDS = 7 * 86400  # FEED_ACTIVE_DAYS: how long a read keeps a timeline

# The settings every process of the run shares (the rest are the defaults of app/config.py).
ENV = {
    "RATELIMIT_SCALE": "100", "RATELIMIT_REGISTER": "100000/minute", "WEB_THREADS": "32",
    "WORKER_CONCURRENCY": "4",
    "VIEW_FLUSH_SECONDS": "10",      # so the beat fault sees several flushes
    "FANOUT_SWEEP_SECONDS": "15",    # the outbox sweep (default 30)
    "FANOUT_BATCH_SIZE": "100",      # smaller rounds, so a kill lands mid-delivery
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Run:
    """State shared by the parts: the topology, accounts, figures."""

    def __init__(self, topo: Topology, args: argparse.Namespace, prefix: Path) -> None:
        self.topo, self.args, self.prefix = topo, args, prefix
        self.client = Client(topo.url)
        self.redis = topo.redis_client()
        self.db = topo.mongo_db()
        self.accounts: dict | None = None
        self.star: dict | None = None
        self.fans: list[dict] = []
        self.synthetic: list[str] = []
        self.figures: dict[str, dict] = {}

    # ------------------------------------------------------------------ helpers

    def post(self, author: dict, text: str, base: str | None = None) -> str:
        r = requests.post((base or self.topo.url) + "/api/v1/posts", timeout=30,
                          json={"kind": "post", "text": text},
                          headers={"Authorization": f"Bearer {author['token']}"})
        check(r.status_code == 201, f"post: {r.status_code} {r.text[:200]}")
        return r.json()["id"]

    def timelines_holding(self, post_id: str, ids: list[str]) -> int:
        held = 0
        for i in range(0, len(ids), 5000):
            pipe = self.redis.pipeline(transaction=False)
            for account_id in ids[i:i + 5000]:
                pipe.zscore(f"tl:{{{account_id}}}", post_id)
            held += sum(score is not None for score in pipe.execute())
        return held

    def followers(self) -> list[str]:
        return [f["id"] for f in self.fans] + self.synthetic

    def in_home_once(self, fan: dict, post_id: str) -> bool:
        ids = self.client.home_ids(fan["token"], pages=3)
        check(ids.count(post_id) <= 1, f"{fan['username']} sees the post {ids.count(post_id)} times")
        return ids.count(post_id) == 1

    def ensure_star(self) -> None:
        """A merchant with 20 real followers (over the API, active) and ``--followers``
        synthetic active followers seeded into Redis."""
        if self.star is not None:
            return
        tag = random.randint(1000, 9999)
        self.star = self.client.register(f"star{tag}", "merchant")
        self.fans = [self.client.register(f"real{tag}_{i}") for i in range(20)]
        for fan in self.fans:
            r = self.client.call("POST", f"/accounts/{self.star['id']}/follow", fan["token"])
            check(r.status_code == 200, f"follow: {r.status_code} {r.text[:200]}")
            self.client.home_ids(fan["token"], pages=1)  # a read keeps the fan's timeline
        warm = self.post(self.star, "warm-up: loads the follower set")
        wait_for(lambda: all(self.in_home_once(f, warm) for f in self.fans[:3]), 60,
                 "the warm-up post in the real fans' feeds")
        # Seeded straight into Redis: mongoeco checks a unique index by scanning the
        # collection, so 20,000 accounts through the API (or in bulk) would take hours.
        started = time.monotonic()
        self.synthetic = [str(ObjectId()) for _ in range(self.args.followers)]
        key = f"followers:{{{self.star['id']}}}"
        check(self.redis.exists(key), "the star's follower set is not loaded")
        for i in range(0, len(self.synthetic), 2000):
            chunk = self.synthetic[i:i + 2000]
            pipe = self.redis.pipeline(transaction=False)
            pipe.sadd(key, *chunk)
            for account_id in chunk:
                pipe.zadd(f"tl:{{{account_id}}}", {"": 0})  # the sentinel: an active timeline
                pipe.expire(f"tl:{{{account_id}}}", ACTIVE_SECONDS)
            pipe.execute()
        log(f"seeded {len(self.synthetic)} active followers into Redis in "
            f"{time.monotonic() - started:.1f} s")

    def restart(self, name: str) -> None:
        self.topo.procs[name].start()

    def socket(self, token: str, events: list[str]) -> tuple[socketio.Client, dict]:
        """A Socket.IO client through nginx (polling first, then websocket), counting events."""
        seen: dict[str, list] = defaultdict(list)
        sio = socketio.Client(reconnection=True)
        for event in events:
            sio.on(event, lambda data=None, e=event: seen[e].append(data))
        sio.connect(self.topo.url, auth={"token": token}, transports=["polling", "websocket"],
                    wait_timeout=20)
        return sio, seen

    # ------------------------------------------------------------------ parts

    def load(self) -> dict:
        a = self.args
        started = time.monotonic()
        self.accounts = seed(self.topo.url, a.fans, a.merchants, 5, 2)
        seeded = time.monotonic() - started
        log(f"seeded {a.fans} fans, {a.merchants} merchants, {len(self.accounts['follows'])} "
            f"follows, {len(self.accounts['posts'])} posts over the API in {seeded:.0f} s")
        live = self.live_check()
        accounts_path = Path(str(self.prefix) + "_accounts.json")
        accounts_path.write_text(json.dumps(self.accounts))
        time.sleep(6)  # the processes write their MongoDB timings every 5 s: seeding's are in
        before = self.dbstats()
        run_locust(self.topo.url, accounts_path, int(a.minutes * 60), a.users, self.prefix)
        time.sleep(6)  # the processes write their MongoDB timings every 5 s
        mongo_share = self.dbstats_diff(before, self.dbstats())
        backlog = self.drain()
        self.wait_outbox_empty()
        result = reconcile(self.topo.url, self.accounts, Path(str(self.prefix) + "_writes.jsonl"))
        table, totals = report(self.prefix, int(a.minutes * 60),
                               Path(str(self.prefix) + "_statuses.json"))
        figures = {"seeded_s": round(seeded), "live": live, "totals": totals,
                   "backlog_drained_s": round(backlog, 1), "reconciliation": result,
                   "table": table, "mongo_time": mongo_share}
        self.figures["load"] = figures
        print(table, flush=True)
        print(mongo_share["table"], flush=True)
        check(totals.get("5xx", 0) == 0, f"{totals.get('5xx')} answers 5xx under load")
        check(not result["lost"], f"writes lost: {result['lost']} {result['problems']}")
        check(live["feed_new_received"], "feed.new did not reach a socket through nginx")
        return {k: v for k, v in figures.items() if k not in ("table",)}

    def live_check(self) -> dict:
        """A fan's socket through nginx (sticky: polling then websocket on one process) gets
        ``feed.new`` for a post published through another process (web -> Redis -> live)."""
        fan = self.accounts["fans"][0]
        merchant_id = next(m for f, m in self.accounts["follows"] if f == fan["id"])
        merchant = next(m for m in self.accounts["merchants"] if m["id"] == merchant_id)
        sio, seen = self.socket(fan["token"], ["feed.new"])
        try:
            transport = sio.transport()
            post_id = self.post(merchant, "live through nginx")
            got = wait_for(lambda: any((d or {}).get("post", {}).get("id") == post_id
                                       or (d or {}).get("id") == post_id
                                       or post_id in json.dumps(d) for d in seen["feed.new"]),
                           30, "feed.new through nginx")
        finally:
            sio.disconnect()
        return {"feed_new_received": bool(got), "transport": transport}

    def fanout(self) -> dict:
        """A worker SIGKILLed while fanning a post out to every follower."""
        self.ensure_star()
        followers = self.followers()
        sample = random.sample(self.synthetic, min(300, len(self.synthetic)))
        worker = self.topo.procs["worker"]
        for attempt in range(1, 4):
            post_id = self.post(self.star, f"fan-out kill {attempt}")
            held = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                held = self.timelines_holding(post_id, sample)
                if held:
                    break
                time.sleep(0.005)
            check(held, "the fan-out never started")
            if held < len(sample):
                worker.kill()
                killed_at = time.monotonic()
                break
            log(f"attempt {attempt}: the fan-out finished before the kill; again")
        else:
            raise ScenarioFailed("could not kill the worker mid-delivery in 3 attempts")
        at_kill = self.timelines_holding(post_id, followers)
        log(f"worker SIGKILLed with the post in {at_kill} of {len(followers)} timelines")
        check(at_kill < len(followers), "the delivery had completed before the kill")
        self.restart("worker")
        wait_for(lambda: self.timelines_holding(post_id, followers) == len(followers), 300,
                 "the post in every follower's timeline after the restart", interval=2)
        complete = time.monotonic() - killed_at
        wait_for(lambda: all(self.in_home_once(f, post_id) for f in self.fans), 60,
                 "the post once in each real follower's home feed")
        return {"followers": len(followers), "timelines_at_kill": at_kill,
                "complete_after_kill_s": round(complete, 1), "attempt": attempt,
                "real_feeds_once": len(self.fans)}

    def transcode(self) -> dict:
        """A worker SIGKILLed while ffmpeg transcodes: ready once, one set of outputs."""
        owner = self.client.register(f"maker{random.randint(1000, 9999)}", "merchant")
        sio, seen = self.socket(owner["token"], ["media.ready", "media.progress"])
        worker = self.topo.procs["worker"]
        try:
            r = self.client.upload_file(owner["token"], clip(20.0, "1280x720", "topology.mp4"))
            check(r.status_code == 202, f"upload: {r.status_code} {r.text[:200]}")
            media_id = r.json()["id"]

            def transcoding() -> bool:
                pid = worker.pid
                children = psutil.Process(pid).children(recursive=True) if pid else []
                return any(c.name() == "ffmpeg" for c in children) and bool(
                    seen["media.progress"])

            wait_for(transcoding, 120, "ffmpeg running in the worker", interval=0.1)
            ffmpeg = [c.pid for c in psutil.Process(worker.pid).children(recursive=True)
                      if c.name() == "ffmpeg"]
            progress = self.client.media(owner["token"], media_id)["progress"]
            worker.kill()
            killed_at = time.monotonic()
            orphans = [pid for pid in ffmpeg if psutil.pid_exists(pid)]
            log(f"worker SIGKILLed mid-transcode at {progress}%; ffmpeg left running: "
                f"{len(orphans)}")
            self.restart("worker")
            bound = 60 + 30 + 90  # lock lapse + sweep interval + a transcode here (README)
            done = wait_for(lambda: (m := self.client.media(owner["token"], media_id))[
                "status"] != "processing" and m, bound + 60, "the media to finish", interval=1)
            ready_after = time.monotonic() - killed_at
            time.sleep(3)  # a second media.ready would arrive now
        finally:
            sio.disconnect()
        check(done["status"] == "ready", f"media ended {done['status']}: {done.get('error')}")
        ready_events = [d for d in seen["media.ready"]
                        if (d or {}).get("media", {}).get("id") == media_id]
        doc = self.db.media.find_one({"_id": ObjectId(media_id)})
        root = self.topo.var / "media" / doc["prefix"]
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        masters = [f for f in files if f.endswith("master.m3u8")]
        for url in [done["hls_url"], done["poster_url"]] + [x["url"] for x in done["renditions"]]:
            full = url if url.startswith("http") else self.topo.url + url
            check(requests.get(full, timeout=30).status_code == 200, f"{url} not served")
        check(len(ready_events) == 1, f"media.ready sent {len(ready_events)} times")
        check(len(masters) == 1, f"{len(masters)} master playlists: {masters}")
        check(doc["attempts"] == 2, f"{doc['attempts']} attempts (1 killed + 1 expected)")
        check(ready_after <= bound, f"ready {ready_after:.0f} s after the kill, over {bound} s")
        return {"progress_at_kill": progress, "ready_after_kill_s": round(ready_after, 1),
                "bound_s": bound, "attempts": doc["attempts"], "media_ready_events": 1,
                "output_files": len(files), "renditions": len(done["renditions"]),
                "ffmpeg_orphans_left_running": len(orphans)}

    def outbox(self) -> dict:
        """A web process SIGKILLed between storing a post and queueing its fan-out."""
        self.ensure_star()
        port = free_port()
        web = self.topo.extra("webfault", procfile()["web"], PORT=str(port),
                              FAULT_INJECT="after_post_store").start()
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(base + "/api/openapi.json", timeout=10).ok, 120,
                 "the fault-injected web process")
        text = f"outbox {random.randint(10**6, 10**7)}"
        try:
            r = requests.post(base + "/api/v1/posts", json={"kind": "post", "text": text},
                              headers={"Authorization": f"Bearer {self.star['token']}"},
                              timeout=30)
            answer = f"{r.status_code}"
        except requests.RequestException as exc:
            answer = type(exc).__name__
        killed_at = time.monotonic()
        web.stop()
        doc = wait_for(lambda: self.db.posts.find_one({"text": text}), 10, "the stored post")
        post_id = str(doc["_id"])
        check(doc.get("fanout_due") is not None, "the stored post is not in the outbox")
        check(self.timelines_holding(post_id, self.followers()[:20]) == 0,
              "something delivered it before the sweep")
        followers = self.followers()
        wait_for(lambda: self.timelines_holding(post_id, followers) == len(followers), 120,
                 "the post in every follower's timeline", interval=1)
        delivered = time.monotonic() - killed_at
        wait_for(lambda: all(self.in_home_once(f, post_id) for f in self.fans), 60,
                 "the post in each real follower's home feed")
        return {"client_saw": answer, "delivered_after_s": round(delivered, 1),
                "followers": len(followers), "sweep_every_s": int(ENV["FANOUT_SWEEP_SECONDS"])}

    def beat(self) -> dict:
        """beat stopped for a minute: nothing periodic runs; started again (with a second
        beat besides, the classic double-beat mistake): it catches up, never twice at once."""
        self.ensure_star()
        beat = self.topo.procs["beat"]
        beat.stop()
        stopped_at = time.monotonic()
        post_ids = [self.post(self.star, f"views {i}") for i in range(3)]
        viewers = self.fans[:15]
        for post_id in post_ids:
            for fan in viewers:
                r = self.client.call("POST", f"/posts/{post_id}/view", fan["token"])
                check(r.status_code in (200, 204), f"view: {r.status_code} {r.text[:200]}")
        # a post left in the outbox (what a crashed web process leaves): only a sweep sends it
        orphan = ObjectId()
        now = time.time()
        self.db.posts.insert_one({
            "_id": orphan, "author": ObjectId(self.star["id"]), "author_kind": "merchant",
            "kind": "post", "text": "left in the outbox while beat is down", "status": "published",
            "media_ids": [], "tags": [], "products": [], "review_reasons": [],
            "like_count": 0, "comment_count": 0, "view_count": 0,
            "created_at": datetime.now(UTC),
            "fanout_due": datetime.now(UTC) - timedelta(seconds=60)})
        time.sleep(max(0.0, 60 - (time.time() - now)))

        def flushed() -> list[int]:
            return [self.db.posts.find_one({"_id": ObjectId(p)})["view_count"] for p in post_ids]

        down_for = time.monotonic() - stopped_at
        check(flushed() == [0, 0, 0], f"views flushed while beat was down: {flushed()}")
        check(self.timelines_holding(str(orphan), self.followers()[:20]) == 0,
              "the outbox post was delivered while beat was down")
        worker_log = self.topo.procs["worker"].log
        log_from = worker_log.stat().st_size
        beat.start()
        second = self.topo.extra("beat2", procfile()["beat"] + " --schedule "
                                 + str(self.topo.var / "celerybeat-schedule-2")).start()
        restarted = time.monotonic()
        wait_for(lambda: flushed() == [len(viewers)] * 3, 120, "the views flushed", interval=1)
        views_after = time.monotonic() - restarted
        wait_for(lambda: self.timelines_holding(str(orphan), self.followers())
                 == len(self.followers()), 120, "the outbox post delivered", interval=1)
        sweep_after = time.monotonic() - restarted
        time.sleep(max(0.0, 40 - (time.monotonic() - restarted)))  # both beats, side by side
        second.stop()
        overlaps, runs, skipped = self.periodic_runs(worker_log, log_from)
        check(not overlaps, f"periodic jobs ran twice at once: {overlaps}")
        return {"beat_down_s": round(down_for), "views_flushed_after_restart_s":
                round(views_after, 1), "outbox_swept_after_restart_s": round(sweep_after, 1),
                "periodic_runs": runs, "skipped_as_already_running": skipped,
                "overlapping_runs": 0}

    @staticmethod
    def periodic_runs(path: Path, offset: int) -> tuple[dict, dict, dict]:
        """From the worker's log: runs per periodic job, skips, and any two at once."""
        text = path.read_bytes()[offset:].decode(errors="replace")
        running: dict[str, int] = defaultdict(int)
        overlaps: dict[str, int] = defaultdict(int)
        runs: dict[str, int] = defaultdict(int)
        skipped: dict[str, int] = defaultdict(int)
        for line in text.splitlines():
            if "periodic job " not in line:
                continue
            name = line.split("periodic job ", 1)[1].split()[0]
            if " started" in line:
                running[name] += 1
                runs[name] += 1
                if running[name] > 1:
                    overlaps[name] += 1
            elif " finished in " in line:
                running[name] -= 1
            elif " skipped" in line:
                skipped[name] += 1
        return dict(overlaps), dict(runs), dict(skipped)

    def mongo(self) -> dict:
        """The MongoDB server stopped for 10 s under load."""
        check(self.accounts is not None, "the mongo fault runs after the load part")
        prefix = Path(str(self.prefix) + "_mongo")
        accounts_path = Path(str(self.prefix) + "_accounts.json")
        seconds, stop_at, down = 60, 20, 10
        done = threading.Event()
        failure: list[BaseException] = []

        def traffic() -> None:
            try:
                run_locust(self.topo.url, accounts_path, seconds, max(10, self.args.users // 2),
                           prefix)
            except BaseException as exc:  # reported below
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=traffic, daemon=True).start()
        time.sleep(stop_at)
        self.topo.mongo.signal(signal.SIGUSR1)
        log("MongoDB stopped (connections dropped, port closed)")
        stopped = time.monotonic()
        time.sleep(3)
        health = requests.get(self.topo.url + "/healthz", timeout=30)
        mongo_health = health.json()["components"]["mongo"]["status"]
        time.sleep(max(0.0, down - (time.monotonic() - stopped)))
        self.topo.mongo.signal(signal.SIGUSR2)
        log("MongoDB started again")
        done.wait(seconds + 120)
        check(not failure, f"locust failed: {failure}")
        self.drain()
        self.wait_outbox_empty()
        # every write accepted in the load run and in this one (one file: like counts add up)
        during = Path(str(prefix) + "_writes.jsonl").read_text()
        both = Path(str(prefix) + "_all_writes.jsonl")
        both.write_text(Path(str(self.prefix) + "_writes.jsonl").read_text() + during)
        result = reconcile(self.topo.url, self.accounts, both)
        accepted = defaultdict(int)
        for line in during.splitlines():
            accepted[json.loads(line)["kind"]] += 1
        table, totals = report(prefix, seconds, Path(str(prefix) + "_statuses.json"))
        codes_path = Path(str(prefix) + "_statuses.json.codes")
        codes = json.loads(codes_path.read_text()) if codes_path.exists() else {}
        with open(str(prefix) + "_stats.csv") as fh:
            aggregated = [r for r in csv.DictReader(fh) if r["Name"] == "Aggregated"][0]
        slowest_ms = float(aggregated["Max Response Time"])
        statuses = totals.get("statuses", {})
        unavailable = codes.get("503 database_unavailable", 0)
        other_5xx = {k: v for k, v in codes.items() if k != "503 database_unavailable"}
        figures = {"healthz_during": f"{health.status_code}, mongo {mongo_health}",
                   "statuses": statuses, "5xx_codes": codes, "slowest_ms": round(slowest_ms),
                   "requests": totals.get("requests"), "accepted_in_this_run": dict(accepted),
                   "reconciled_with_the_load_run": result["writes"], "lost": result["lost"]}
        print(table, flush=True)
        check(health.status_code == 503 and mongo_health == "down",
              f"/healthz during the outage: {health.status_code}, mongo {mongo_health}")
        check(unavailable > 0, "no request met the outage (no 503 database_unavailable)")
        check(not other_5xx, f"5xx other than 503 database_unavailable: {other_5xx}")
        check(slowest_ms < 60_000, f"a request took {slowest_ms:.0f} ms (the request timeout)")
        check(not result["lost"], f"writes lost: {result['lost']} {result['problems']}")
        return figures

    # ------------------------------------------------------------------ figures

    def drain(self, timeout: float = 600) -> float:
        """Wait until the job queues stay empty; returns seconds. (Unlike the load test's,
        this ignores the broker's ``unacked`` entries: a SIGKILLed worker's stay there for
        the visibility timeout, while the sweeps have long redone their work.)"""
        started = time.monotonic()
        quiet = 0
        while time.monotonic() - started < timeout and quiet < 3:
            pipe = self.redis.pipeline()
            for queue in ("celery", "fanout", "search", "media"):
                pipe.llen(queue)
            quiet = quiet + 1 if not any(pipe.execute()) else 0
            time.sleep(0.5)
        return time.monotonic() - started

    def wait_outbox_empty(self) -> None:
        wait_for(lambda: self.db.posts.count_documents({"fanout_due": {"$ne": None}}) == 0,
                 180, "the fan-out outbox to empty", interval=1)

    def dbstats(self) -> dict[str, list[float]]:
        totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
        for path in (self.topo.var / "dbstats").glob("*.json"):
            try:
                body = json.loads(path.read_text())
            except ValueError:
                continue
            for route, values in body["routes"].items():
                totals[route] = [a + b for a, b in zip(totals[route], values)]
        return dict(totals)

    @staticmethod
    def dbstats_diff(before: dict, after: dict) -> dict:
        rows, all_server, all_mongo = [], 0.0, 0.0
        lines = ["| route | requests | mean server ms | mean MongoDB ms | MongoDB commands/request "
                 "| share waiting on MongoDB |", "|---|---:|---:|---:|---:|---:|"]
        for route in sorted(after, key=lambda r: -(after[r][1] - before.get(r, [0, 0, 0, 0])[1])):
            base = before.get(route, [0, 0.0, 0.0, 0])
            n, server, mongo, commands = (a - b for a, b in zip(after[route], base))
            if n <= 0:
                continue
            all_server, all_mongo = all_server + server, all_mongo + mongo
            rows.append({"route": route, "requests": n, "server_ms": server / n / 1000,
                         "mongo_ms": mongo / n / 1000, "commands": commands / n,
                         "share": mongo / server if server else 0})
            lines.append(f"| {route} | {n} | {server / n / 1000:.1f} | {mongo / n / 1000:.1f} | "
                         f"{commands / n:.1f} | {100 * mongo / server if server else 0:.0f}% |")
        share = all_mongo / all_server if all_server else 0
        lines.append(f"| **all** | | | | | **{100 * share:.0f}%** |")
        return {"rows": rows, "share": round(share, 3), "table": "\n".join(lines)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--fans", type=int, default=300)
    parser.add_argument("--merchants", type=int, default=20)
    parser.add_argument("--followers", type=int, default=20_000)
    parser.add_argument("--only", default=",".join(PARTS))
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    parts = [p for p in PARTS if p in args.only.split(",")]
    random.seed(11)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    prefix = OUT / f"topology-{stamp}"
    root = Path(tempfile.mkdtemp(prefix="fanhub-topology-"))
    log(f"topology under {root}")
    topo = Topology(root, **ENV)
    outcome: dict[str, dict] = {}
    try:
        started = time.monotonic()
        topo.start()
        log(f"up in {time.monotonic() - started:.0f} s: nginx {topo.url} -> web "
            f"{topo.web_ports}, live {topo.live_ports} (ip_hash); worker, beat; mongoeco "
            f":{topo.mongo_port}; redis :{topo.redis.port}")
        run = Run(topo, args, prefix)
        for part in parts:
            log(f"=== {part}")
            began = time.monotonic()
            try:
                figures = getattr(run, part)()
                outcome[part] = {"result": "PASS", **figures}
            except ScenarioFailed as exc:
                outcome[part] = {"result": "FAIL", "why": str(exc)}
            except Exception as exc:  # a broken part must not hide the others' results
                outcome[part] = {"result": "FAIL", "why": f"{type(exc).__name__}: {exc}"}
            outcome[part]["seconds"] = round(time.monotonic() - began)
            log(f"{outcome[part]['result']} {part} ({outcome[part]['seconds']} s): "
                f"{json.dumps({k: v for k, v in outcome[part].items() if k != 'result'})[:1500]}")
            if part == "load" and "load" in run.figures:
                Path(str(prefix) + "_load.md").write_text(
                    run.figures["load"]["table"] + "\n\n" + run.figures["load"]["mongo_time"]["table"])
    finally:
        topo.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(root / "var", ignore_errors=True)
    Path(str(prefix) + "_summary.json").write_text(json.dumps(outcome, indent=1, default=str))
    print("\n" + "  ".join(f"{k}: {v['result']}" for k, v in outcome.items()), flush=True)
    print(f"figures: {prefix}_summary.json; logs: {root / 'logs'}", flush=True)
    return 0 if outcome and all(v["result"] == "PASS" for v in outcome.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
