"""Fan-out at scale: one post to 1,000,000 followers on a 3-master Redis Cluster and on one Redis.

    flock /work/bench.lock .venv/bin/python -m bench.cluster_fanout \\
        [--followers 1000000] [--active 0.1] [--entries 100] [--rounds 3]

Both targets are seeded alike: the author's follower set (the graph cache ``followers:{id}``)
and a timeline (``tl:{id}``, ``--entries`` posts) for the active share of the followers only,
as in production (timelines exist while their owners read). Then, taking turns ``--rounds``
times (medians: this machine's speed drifts):

- ours: ``feed.fanout.deliver`` over ``feed.fanout.followers`` (the real path: the follower
  set scanned in batches, one push script per follower, pipelined, each master its share);
- raw: redis-py pipelined ``ZADD`` of a post id into every follower's timeline (the same
  follower set scanned the same way, one command per follower as the push has; no check,
  no cap, so it also creates the inactive followers' timelines, deleted again untimed),
  ``FANOUT_BATCH_SIZE`` commands per pipeline;
- known active (a reference, not a floor for this design): the same ``ZADD`` into the
  active timelines only, as if the fan-out knew who is active without asking Redis.

Reported per target: time, timelines written per second, ours/raw; memory per follower (the
follower set) and per timeline entry (``used_memory`` over every master, before and after
seeding); the keys on each master (largest/smallest). The cluster has no replicas here (one
Redis has none either; a replica doubles the writes on these two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

from bson import ObjectId
from flask import Flask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from app.redis_clients import connect, primaries  # noqa: E402
from app.redis_server import RedisServer  # noqa: E402
from feed import cache, fanout  # noqa: E402
from tests.servers.redis_cluster import RedisCluster  # noqa: E402

BATCH = 5_000  # FANOUT_BATCH_SIZE's default
CAP = 800  # TIMELINE_MAX's default


def _used_memory(client) -> int:
    return sum(node.info("memory")["used_memory"] for node in primaries(client))


def _keys_per_master(client) -> list[int]:
    return [node.dbsize() for node in primaries(client)]


def _seed(client, author: str, followers: list[str], active: list[str], entries: int) -> dict:
    base = _used_memory(client)
    key = cache.followers_key(author)
    for i in range(0, len(followers), 10_000):
        client.sadd(key, *followers[i:i + 10_000])
    with_followers = _used_memory(client)
    now = int(time.time() * 1000)
    for i in range(0, len(active), 2_000):
        pipe = client.pipeline(transaction=False)
        for account_id in active[i:i + 2_000]:
            members = {cache.SENTINEL: 0}
            members.update({f"{account_id[:12]}{n:012x}": now - n * 60_000 for n in range(entries)})
            pipe.zadd(cache.timeline_key(account_id), members)
        pipe.execute()
    with_timelines = _used_memory(client)
    return {"bytes_per_follower": (with_followers - base) / len(followers),
            "bytes_per_timeline_entry": (with_timelines - with_followers) / (len(active) * entries),
            "bytes_per_active_timeline": (with_timelines - with_followers) / len(active),
            "used_memory_mb": with_timelines / 2**20}


def _raw(client, post_id: str, score: int, chunks) -> None:
    for chunk in chunks:
        pipe = client.pipeline(transaction=False)
        for account_id in chunk:
            pipe.zadd(cache.timeline_key(account_id), {post_id: score})
        pipe.execute()


def _drop(client, account_ids: list[str]) -> None:
    """Delete the timelines raw created for inactive followers (they were not there)."""
    for i in range(0, len(account_ids), BATCH):
        pipe = client.pipeline(transaction=False)
        for account_id in account_ids[i:i + BATCH]:
            pipe.delete(cache.timeline_key(account_id))
        pipe.execute()


def run_target(name: str, url: str, followers: list[str], active: list[str], entries: int,
               rounds: int) -> dict:
    client = connect(url, decode_responses=True)
    app = Flask(f"bench-{name}")
    app.extensions["redis"] = client
    author = str(ObjectId())
    print(f"[{name}] seeding {len(followers):,} followers, {len(active):,} timelines "
          f"of {entries} entries ...", flush=True)
    figures = _seed(client, author, followers, active, entries)
    keys = _keys_per_master(client)
    figures.update(keys_per_master=keys, spread=max(keys) / max(1, min(keys)))
    times: dict[str, list[float]] = {"ours": [], "raw": [], "known": []}
    active_set = set(active)
    inactive = [f for f in followers if f not in active_set]
    written = 0
    with app.app_context():
        for n in range(rounds):
            post, score = str(ObjectId()), int(time.time() * 1000) + n
            started = time.perf_counter()
            written = fanout.deliver(post, score, fanout.followers(author, BATCH), CAP)
            times["ours"].append(time.perf_counter() - started)
            started = time.perf_counter()
            _raw(client, str(ObjectId()), score, fanout.followers(author, BATCH))
            times["raw"].append(time.perf_counter() - started)
            _drop(client, inactive)
            started = time.perf_counter()
            _raw(client, str(ObjectId()), score,
                 (active[i:i + BATCH] for i in range(0, len(active), BATCH)))
            times["known"].append(time.perf_counter() - started)
            print(f"[{name}] round {n + 1}: ours {times['ours'][-1]:.2f} s, "
                  f"raw {times['raw'][-1]:.2f} s, known active {times['known'][-1]:.2f} s",
                  flush=True)
    ours, raw = statistics.median(times["ours"]), statistics.median(times["raw"])
    known = statistics.median(times["known"])
    check = random.sample(active, min(1000, len(active)))
    pipe = client.pipeline(transaction=False)
    for account_id in check:
        pipe.zcard(cache.timeline_key(account_id))
    sizes = pipe.execute()
    print(f"[{name}] sampled timeline sizes: {sorted(set(sizes))}", flush=True)
    grown = sum(1 for size in sizes if size == 1 + entries + 3 * rounds)
    figures.update(ours_s=ours, raw_s=raw, ours_over_raw=raw / ours, written=written,
                   known_active_s=known, ours_over_known_active=known / ours,
                   timelines_per_s=written / ours, raw_timelines_per_s=len(followers) / raw,
                   followers_per_s=len(followers) / ours, sample_complete=grown / len(check))
    for node in primaries(client):
        node.flushall()
    client.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--active", type=float, default=0.1, help="share with a timeline")
    parser.add_argument("--entries", type=int, default=100, help="posts already in a timeline")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(18)
    followers = [str(ObjectId()) for _ in range(args.followers)]
    active = rng.sample(followers, int(args.followers * args.active))
    single = RedisServer().start()
    cluster = RedisCluster(masters=3, replicas=0).start()
    try:
        results = {
            "single": run_target("single", single.url, followers, active, args.entries, args.rounds),
            "cluster": run_target("cluster", cluster.url, followers, active, args.entries,
                                  args.rounds),
        }
    finally:
        single.stop()
        cluster.stop()
    results["cluster_over_single_time"] = results["cluster"]["ours_s"] / results["single"]["ours_s"]
    print(json.dumps(results, indent=2))
    for name in ("single", "cluster"):
        r = results[name]
        print(f"{name:8} ours {r['ours_s']:.2f} s ({r['timelines_per_s']:,.0f} timelines/s, "
              f"{r['followers_per_s']:,.0f} followers/s), raw {r['raw_s']:.2f} s "
              f"({r['raw_timelines_per_s']:,.0f} ZADD/s): ours/raw {r['ours_over_raw']:.2f}; "
              f"known active {r['known_active_s']:.2f} s (ours/it "
              f"{r['ours_over_known_active']:.2f}); "
              f"{r['bytes_per_follower']:.0f} B/follower, {r['bytes_per_timeline_entry']:.1f} "
              f"B/timeline entry; keys per master {r['keys_per_master']} "
              f"(spread {r['spread']:.3f})")
    print(f"cluster time / single time: {results['cluster_over_single_time']:.2f}")


if __name__ == "__main__":
    main()
