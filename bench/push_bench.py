"""Push fan-out: a post by a merchant with N followers who asked for its posts (`notify`).

    flock /work/bench.lock .venv/bin/python -m bench.push_bench [--followers 1000000]

Measures ``app.push.service.push_post``: the job that reads the merchant's notify-followers
(``push-followers:{author}``, a Redis set) and enqueues them, ``PUSH_BATCH`` per Celery job,
on the Redis broker: "pushes enqueued per second" is followers enqueued / its time. Two
floors, in the same run: reading the same set in the same batches (SSCAN) with nothing
enqueued, and that read plus one plain LPUSH per batch of a same-sized message (what a
broker publish costs at least, one round trip each). No worker runs: the jobs stay in the broker (their
count is checked). A private redis-server; the embedded store (mongomock) holds the post.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import redis

from app.redis_server import RedisServer, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = RedisServer(port=free_port()).start()
    try:
        run(server.url, args.followers, args.rounds)
    finally:
        server.stop()


def run(redis_url: str, followers: int, rounds: int) -> None:
    from app.factory import create_app

    app = create_app(REDIS_URL=redis_url, SECRET_KEY="bench", EMBEDDED_WORKER=False,
                     DEMO_DATA=False, STORE_SNAPSHOT_SECONDS=0)
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    with app.app_context():
        from app.accounts import service as accounts
        from app.push import service
        from feed import graph, posts

        merchant = accounts.register({"username": "bench_brand", "password": "bench password",
                                      "display_name": "Brand", "kind": "merchant"})
        post = posts.create(merchant, {"kind": "post", "text": "新品上市"})
        key = graph.notify_key(merchant.id)
        batch = int(app.config["PUSH_BATCH"])
        pipe = r.pipeline(transaction=False)
        pipe.sadd(key, "-")
        for start in range(0, followers, 10_000):
            pipe.sadd(key, *(f"{i:024x}" for i in range(start, min(start + 10_000, followers))))
            if start % 100_000 == 0:
                pipe.execute()
        pipe.execute()
        print(f"{followers:,} notify-followers in {key}; PUSH_BATCH {batch}")

        floors, lpushes, pushes = [], [], []
        for _ in range(rounds):
            began = time.perf_counter()
            read = sum(len(chunk) for chunk in graph.notify_followers(merchant.id, batch))
            floors.append(time.perf_counter() - began)
            assert read == followers, read

            r.delete("floor")
            began = time.perf_counter()
            for chunk in graph.notify_followers(merchant.id, batch):
                r.lpush("floor", json.dumps([str(post.id), chunk]))
            lpushes.append(time.perf_counter() - began)

            r.delete(f"push-post:{post.id}", "celery")
            began = time.perf_counter()
            enqueued = service.push_post(str(post.id))
            pushes.append(time.perf_counter() - began)
            assert enqueued == followers, enqueued
            jobs = r.llen("celery")
            assert jobs == -(-followers // batch), jobs
    floor, lpush, push = (statistics.median(x) for x in (floors, lpushes, pushes))
    for name, took in ((f"floor: SSCAN the set in batches of {batch}", floor),
                       (f"floor: SSCAN + one raw LPUSH per batch ({jobs})", lpush),
                       (f"push_post: SSCAN + {jobs} Celery jobs", push)):
        print(f"{name:<48} {took:7.2f} s {followers / took:12,.0f} followers/s")
    print(f"push_post / SSCAN floor: {push / floor:.2f}; push_post / SSCAN+LPUSH floor: "
          f"{push / lpush:.2f}  (medians of {rounds} rounds)")


if __name__ == "__main__":
    main()
