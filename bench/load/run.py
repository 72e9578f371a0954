"""The load test: seed 1,000 fans and 50 merchants, drive the mix with locust from its own
process through gunicorn, then reconcile every accepted write against the API.

    python -m bench.load.run [--minutes 5] [--users 60] [--fans 1000] [--merchants 50]

Production-style server: gunicorn serving ``wsgi:app`` with a real redis-server. Without
``MONGODB_URI`` the database is mongomock, which lives inside the web process, so the Celery
worker must run in that process too (``EMBEDDED_WORKER=1``) and one gunicorn worker serves
everything; with ``MONGODB_URI`` a separate ``celery worker`` process runs the jobs.
Rate limits are scaled up (``RATELIMIT_SCALE``, default 100): a few thousand brand-new
accounts posting from one address would otherwise be stopped by the new-account limits
within seconds, which is the limiter working, not the service under load.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.faults.harness import BIN, ROOT, WebServer, check, fixed_redis, scratch

OUT = Path(os.environ.get("LOAD_OUT", "/tmp/fanhub-load"))


def _session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=32)
    session.mount("http://", adapter)
    return session


def seed(url: str, fans: int, merchants: int, follows: int, posts: int) -> dict:
    """Accounts, follows and a first few posts, over the API (the database is in the server)."""
    api = url + "/api/v1"
    session = _session()

    def register(name: str, kind: str) -> dict:
        gender = random.choice(["female", "male", None]) if kind == "fan" else None
        body = {"username": name, "password": "password123", "display_name": name, "kind": kind}
        if kind == "fan":
            body["profile"] = {"gender": gender, "interests": ["beauty", "shoes"][: random.randint(0, 2)]}
        r = session.post(api + "/auth/register", json=body, timeout=60)
        check(r.status_code == 201, f"register {name}: {r.status_code} {r.text[:200]}")
        data = r.json()
        return {"id": data["account"]["id"], "token": data["token"], "username": name}

    with ThreadPoolExecutor(8) as pool:
        brand = list(pool.map(lambda i: register(f"brand{i:03d}", "merchant"), range(merchants)))
        people = list(pool.map(lambda i: register(f"fan{i:04d}", "fan"), range(fans)))
        pairs = [(fan, m) for fan in people for m in random.sample(brand, min(follows, merchants))]

        def follow(pair) -> tuple[str, str]:
            fan, merchant = pair
            r = session.post(f"{api}/accounts/{merchant['id']}/follow", timeout=60,
                             headers={"Authorization": f"Bearer {fan['token']}"})
            check(r.status_code == 200, f"follow: {r.status_code} {r.text[:200]}")
            return fan["id"], merchant["id"]

        followed = list(pool.map(follow, pairs))

        def publish(job: tuple[dict, int]) -> str:
            merchant, n = job
            r = session.post(api + "/posts", timeout=60, json={
                "kind": "post", "text": f"{merchant['username']} 今日上新 第{n}款 item {n}"},
                headers={"Authorization": f"Bearer {merchant['token']}"})
            check(r.status_code == 201 and r.json()["status"] == "published",
                  f"post: {r.status_code} {r.text[:200]}")
            return r.json()["id"]

        first_posts = list(pool.map(publish, [(m, n) for m in brand for n in range(posts)]))
    return {"fans": people, "merchants": brand, "posts": first_posts,
            "follows": [list(p) for p in followed]}


def run_locust(url: str, accounts_path: Path, seconds: int, users: int, prefix: Path) -> None:
    env = {**os.environ, "LOAD_ACCOUNTS": str(accounts_path),
           "LOAD_WRITES": str(prefix) + "_writes.jsonl",
           "LOAD_STATUSES": str(prefix) + "_statuses.json", "PYTHONPATH": str(ROOT)}
    cmd = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"),
           "--headless", "--host", url, "--users", str(users),
           "--spawn-rate", str(max(1, users // 10)), "--run-time", f"{seconds}s",
           "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
           "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    with open(str(prefix) + "_locust.log", "wb") as log:
        subprocess.run(cmd, env=env, check=True, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def drain(redis_url: str, timeout: float = 600) -> float:
    """Wait until the job queues are empty and nothing is unacknowledged; returns seconds.

    The fan-out runs behind the API (a post is accepted before it is delivered), so the
    feeds are only compared once the backlog the run left behind has been worked off.
    """
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < timeout:
        pipe = client.pipeline()
        for queue in ("celery", "fanout", "search", "media"):
            pipe.llen(queue)
        pipe.hlen("unacked")
        quiet = quiet + 1 if not any(pipe.execute()) else 0
        if quiet >= 3:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def reconcile(url: str, accounts: dict, writes_path: Path) -> dict:
    """Every 2xx write the clients logged must be visible through the API afterwards."""
    api = url + "/api/v1"
    session = _session()
    writes = [json.loads(line) for line in writes_path.read_text().splitlines() if line]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for w in writes:
        by_kind[w["kind"]].append(w)
    tokens = {a["id"]: a["token"] for a in accounts["fans"] + accounts["merchants"]}

    def get(path: str, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return session.get(api + path, headers=headers, timeout=60)

    problems: dict[str, list] = defaultdict(list)
    with ThreadPoolExecutor(8) as pool:
        # posts: each one is there for its author
        for w, r in zip(by_kind["post"], pool.map(
                lambda w: get(f"/posts/{w['post']}", w["token"]), by_kind["post"])):
            if r.status_code != 200:
                problems["posts"].append((w["post"], r.status_code))
        # likes: liked for the liker, and like_count equals the distinct likers
        likers: dict[str, set[str]] = defaultdict(set)
        for w in by_kind["like"]:
            likers[w["post"]].add(w["fan"])
        distinct = [(post, fan) for post, fans in likers.items() for fan in fans]
        for (post, fan), r in zip(distinct, pool.map(
                lambda pf: get(f"/posts/{pf[0]}", tokens[pf[1]]), distinct)):
            if r.status_code != 200 or not r.json().get("liked"):
                problems["likes"].append((post, fan, r.status_code))
        posts = list(likers)
        for post, r in zip(posts, pool.map(lambda p: get(f"/posts/{p}"), posts)):
            if r.status_code == 200 and r.json()["like_count"] != len(likers[post]):
                problems["like_counts"].append((post, r.json()["like_count"], len(likers[post])))
        # comments: every accepted comment is listed on its post
        wanted: dict[str, set[str]] = defaultdict(set)
        for w in by_kind["comment"]:
            wanted[w["post"]].add(w["comment"])

        def listed(post: str) -> set[str]:
            found, cursor = set(), None
            while True:
                r = get(f"/posts/{post}/comments?limit=100" + (f"&cursor={cursor}" if cursor else ""))
                if r.status_code != 200:
                    return found
                body = r.json()
                found |= {c["id"] for c in body["items"]}
                cursor = body.get("next_cursor")
                if not cursor:
                    return found

        for post, found in zip(list(wanted), pool.map(listed, list(wanted))):
            missing = wanted[post] - found
            if missing:
                problems["comments"].append((post, len(missing)))
        # follows: the seeded ones and the ones made under load
        pairs = {(f, m) for f, m in accounts["follows"]}
        pairs |= {(w["fan"], w["merchant"]) for w in by_kind["follow"]}
        pairs_list = sorted(pairs)
        for (fan, merchant), r in zip(pairs_list, pool.map(
                lambda p: get(f"/accounts/{p[1]}", tokens[p[0]]), pairs_list)):
            if r.status_code != 200 or not r.json().get("following"):
                problems["follows"].append((fan, merchant))
        # home feeds: a sample of fans sees every post made under load by whom they followed
        # when the run started
        run_posts: dict[str, set[str]] = defaultdict(set)
        for w in by_kind["post"]:
            if w.get("status") == "published":
                run_posts[w["author"]].add(w["post"])
        seeded: dict[str, set[str]] = defaultdict(set)
        for fan, merchant in accounts["follows"]:
            seeded[fan].add(merchant)
        sample = random.sample(accounts["fans"], min(50, len(accounts["fans"])))

        def home_gap(fan: dict) -> int:
            ids, cursor = set(), None
            for _ in range(20):
                r = get("/feed/home?limit=100" + (f"&cursor={cursor}" if cursor else ""),
                        fan["token"])
                if r.status_code != 200:
                    return -1
                body = r.json()
                ids |= {p["id"] for p in body["items"]}
                cursor = body.get("next_cursor")
                if not cursor:
                    break
            expected = set().union(*(run_posts[m] for m in seeded[fan["id"]])) if seeded[fan["id"]] else set()
            return len(expected - ids)

        for fan, gap in zip(sample, pool.map(home_gap, sample)):
            if gap:
                problems["home_feeds"].append((fan["username"], gap))
    counts = {kind: len(items) for kind, items in by_kind.items()}
    counts["distinct_likes"] = len(distinct)
    counts["follows_checked"] = len(pairs_list)
    counts["feeds_checked"] = len(sample)
    return {"writes": counts, "problems": {k: v[:10] for k, v in problems.items()},
            "lost": {k: len(v) for k, v in problems.items()}}


def report(prefix: Path, seconds: int, statuses_path: Path) -> tuple[str, dict]:
    with open(str(prefix) + "_stats.csv") as fh:
        rows = list(csv.DictReader(fh))
    statuses = json.loads(statuses_path.read_text()) if statuses_path.exists() else {}
    lines = ["| route | requests | req/s | p50 ms | p99 ms | non-2xx | 5xx |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    totals = {}
    for row in rows:
        route_statuses = statuses.get(f"{row['Type']} {row['Name']}", {})
        server_errors = sum(v for k, v in route_statuses.items() if int(k) >= 500 or int(k) == 0)
        if row["Name"] == "Aggregated":
            server_errors = sum(v for route in statuses.values() for k, v in route.items()
                                if int(k) >= 500 or int(k) == 0)
            totals = {"requests": int(row["Request Count"]),
                      "throughput_rps": round(float(row["Requests/s"]), 1),
                      "p50_ms": row["50%"], "p99_ms": row["99%"],
                      "failures": int(row["Failure Count"]), "5xx": server_errors}
        lines.append(f"| {row['Name']} | "
                     f"{row['Request Count']} | {float(row['Requests/s']):.1f} | {row['50%']} | "
                     f"{row['99%']} | {row['Failure Count']} | {server_errors} |")
    status_mix = defaultdict(int)
    for route in statuses.values():
        for k, v in route.items():
            status_mix[int(k)] += v
    totals["statuses"] = dict(sorted(status_mix.items()))
    return "\n".join(lines), totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--users", type=int, default=60, help="concurrent simulated clients")
    parser.add_argument("--fans", type=int, default=1000)
    parser.add_argument("--merchants", type=int, default=50)
    parser.add_argument("--follows", type=int, default=5, help="merchants each fan follows")
    parser.add_argument("--posts", type=int, default=3, help="posts per merchant before the run")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    random.seed(7)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    prefix = OUT / f"load-{stamp}"
    redis = fixed_redis()
    worker = None
    with scratch("load") as var:
        production = bool(os.environ.get("MONGODB_URI"))
        env = {"RATELIMIT_SCALE": os.environ.get("RATELIMIT_SCALE", "100"),
               "RATELIMIT_REGISTER": "100000/minute", "WEB_THREADS": "64",
               "EMBEDDED_WORKER": "0" if production else "1", "VIEW_FLUSH_SECONDS": "30"}
        web = WebServer(redis.url, var, **env).start()
        try:
            if production:
                worker = subprocess.Popen(
                    [str(BIN / "celery"), "--app", "wsgi:celery", "worker", "--pool", "threads",
                     "--concurrency", "4", "--queues", "celery,fanout,media,search",
                     "--loglevel", "WARNING"], cwd=ROOT, env=web.env, start_new_session=True)
            t0 = time.monotonic()
            accounts = seed(web.url, args.fans, args.merchants, args.follows, args.posts)
            seeded_s = time.monotonic() - t0
            accounts_path = Path(str(prefix) + "_accounts.json")
            accounts_path.write_text(json.dumps(accounts))
            seconds = int(args.minutes * 60)
            print(f"seeded {args.fans} fans, {args.merchants} merchants, "
                  f"{len(accounts['follows'])} follows, {len(accounts['posts'])} posts in "
                  f"{seeded_s:.0f} s; running the mix for {seconds} s with {args.users} clients",
                  flush=True)
            run_locust(web.url, accounts_path, seconds, args.users, prefix)
            backlog_s = drain(redis.url)
            result = reconcile(web.url, accounts, Path(str(prefix) + "_writes.jsonl"))
            result["backlog_drained_s"] = round(backlog_s, 1)
            table, totals = report(prefix, seconds, Path(str(prefix) + "_statuses.json"))
            server_log = web.log.read_text(errors="replace")
        finally:
            web.stop()
            if worker is not None:
                worker.terminate()
                worker.wait(30)
            redis.stop()
    summary = {"minutes": args.minutes, "users": args.users, "fans": args.fans,
               "merchants": args.merchants, "backend": "mongodb" if production else "mongomock",
               **totals, "reconciliation": result}
    text = (f"## Load run {stamp}\n\n{args.minutes:g} min, {args.users} concurrent clients, "
            f"{args.fans} fans, {args.merchants} merchants, database "
            f"{summary['backend']}\n\n{table}\n\nstatuses: {totals.get('statuses')}\n\n"
            f"job backlog left by the run worked off in {result['backlog_drained_s']} s\n\n"
            f"reconciliation: writes {result['writes']}, lost {result['lost'] or 'none'}\n")
    Path(str(prefix) + "_report.md").write_text(text)
    Path(str(prefix) + "_summary.json").write_text(json.dumps(summary, indent=1))
    print(text, flush=True)
    errors = server_log.count("unhandled error")
    if errors:
        print(f"server log: {errors} unhandled errors (see {web.log})", flush=True)
    ok = totals.get("5xx", 0) == 0 and not result["lost"]
    print(("PASS" if ok else "FAIL") + f" load: {totals.get('throughput_rps')} req/s, "
          f"5xx={totals.get('5xx')}, lost writes={sum(result['lost'].values())}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
