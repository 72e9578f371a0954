"""Redis is restarted empty in the middle of traffic (posts, feed reads, likes, comments).

What must hold afterwards: every post the API accepted is in every follower's home feed
(timelines, follower sets and caches are rebuilt from MongoDB), every accepted like and
comment is still there, new posts fan out again (the job queue works on the new Redis),
and live updates resume for a client that was connected across the restart. Requests made
while Redis is down may fail; their count is reported, and nothing accepted may be lost.

``python -m bench.faults.redis_restart [--seconds 20] [--fans 40] [--merchants 4]``
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter

import socketio

from bench.faults.harness import (
    Client,
    WebServer,
    check,
    fixed_redis,
    restart_redis_empty,
    run,
    scratch,
    wait_for,
)


class Traffic:
    """A few client threads; every 2xx write is logged for the reconciliation."""

    def __init__(self, url: str, merchants: list[dict], fans: list[dict]) -> None:
        self.url, self.merchants, self.fans = url, merchants, fans
        self.posts: list[tuple[str, str]] = []  # (author id, post id)
        self.likes: list[tuple[str, str]] = []  # (fan token, post id)
        self.comments: list[tuple[str, str]] = []  # (post id, comment id)
        self.statuses: Counter = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def _one(self, client: Client, rng: random.Random) -> None:
        roll = rng.random()
        with self.lock:
            known = [p for _, p in self.posts]
        if roll < 0.2 or not known:
            author = rng.choice(self.merchants)
            r = client.call("POST", "/posts", author["token"],
                            json={"kind": "post", "text": f"news {rng.random()}"})
            if r.status_code == 201:
                with self.lock:
                    self.posts.append((author["id"], r.json()["id"]))
        elif roll < 0.7:
            fan = rng.choice(self.fans)
            r = client.call("GET", "/feed/home", fan["token"], params={"limit": 20})
        elif roll < 0.85:
            fan, post = rng.choice(self.fans), rng.choice(known)
            r = client.call("POST", f"/posts/{post}/like", fan["token"])
            if r.status_code == 200:
                with self.lock:
                    self.likes.append((fan["token"], post))
        else:
            fan, post = rng.choice(self.fans), rng.choice(known)
            r = client.call("POST", f"/posts/{post}/comments", fan["token"], json={"text": "好"})
            if r.status_code == 201:
                with self.lock:
                    self.comments.append((post, r.json()["id"]))
        with self.lock:
            self.statuses[r.status_code] += 1

    def worker(self, seed: int) -> None:
        client, rng = Client(self.url), random.Random(seed)
        while not self.stop.is_set():
            try:
                self._one(client, rng)
            except Exception as exc:  # connection refused etc. while Redis is away
                with self.lock:
                    self.statuses[type(exc).__name__] += 1
                time.sleep(0.05)


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fans", type=int, default=40)
    parser.add_argument("--merchants", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    redis = fixed_redis()
    with scratch("redis") as var:
        web = WebServer(redis.url, var).start()
        try:
            client = Client(web.url)
            merchants = [client.register(f"brand{i}", "merchant") for i in range(args.merchants)]
            fans = [client.register(f"fan{i}") for i in range(args.fans)]
            for fan in fans:
                for merchant in merchants:
                    r = client.call("POST", f"/accounts/{merchant['id']}/follow", fan["token"])
                    check(r.status_code == 200, f"follow: {r.status_code} {r.text[:200]}")
                client.home_ids(fan["token"], pages=1)  # an active reader: pushed to
            events: list[dict] = []
            live = socketio.Client(reconnection=True, reconnection_delay=0.5)
            live.on("feed.new", lambda data: events.append(data))
            live.connect(web.url, auth={"token": fans[0]["token"]}, transports=["websocket"],
                         wait_timeout=10)

            traffic = Traffic(web.url, merchants, fans)
            threads = [threading.Thread(target=traffic.worker, args=(i,), daemon=True)
                       for i in range(args.threads)]
            for thread in threads:
                thread.start()
            time.sleep(args.seconds / 3)
            before = dict(traffic.statuses)
            started = time.monotonic()
            redis = restart_redis_empty(redis)
            outage = time.monotonic() - started
            time.sleep(args.seconds * 2 / 3)
            traffic.stop.set()
            for thread in threads:
                thread.join(30)
            statuses = dict(traffic.statuses)

            # reconciliation: nothing accepted is lost
            client = Client(web.url)
            accepted = {post for _, post in traffic.posts}

            def missing_from_feeds() -> dict[str, int]:
                gaps = {}
                for fan in fans:
                    gap = accepted - set(client.home_ids(fan["token"]))
                    if gap:
                        gaps[fan["username"]] = len(gap)
                return gaps

            try:
                wait_for(lambda: not missing_from_feeds(), 90, "every accepted post in every feed")
            except AssertionError:
                check(False, f"posts missing from home feeds: {missing_from_feeds()}")
            lost_likes = [p for token, p in traffic.likes
                          if not client.call("GET", f"/posts/{p}", token).json().get("liked")]
            check(not lost_likes, f"{len(lost_likes)} accepted likes lost")
            by_post: dict[str, set[str]] = {}
            for post, comment in traffic.comments:
                by_post.setdefault(post, set()).add(comment)
            for post, wanted in by_post.items():
                r = client.call("GET", f"/posts/{post}/comments", params={"limit": 100})
                found = {c["id"] for c in r.json()["items"]}
                check(wanted <= found, f"comments lost on {post}: {wanted - found}")

            # new posts fan out and reach the live client again
            events.clear()
            r = client.call("POST", "/posts", merchants[0]["token"],
                            json={"kind": "post", "text": "after the restart"})
            check(r.status_code == 201, f"post after restart: {r.status_code}")
            fresh = r.json()["id"]
            wait_for(lambda: fresh in client.home_ids(fans[-1]["token"], pages=1), 60,
                     "a new post to fan out after the restart")
            live_ok = True
            try:
                wait_for(lambda: any(e.get("post", {}).get("id") == fresh for e in events), 30,
                         "feed.new on a socket connected across the restart")
            except AssertionError:
                live_ok = False
            live.disconnect()
            errors = {k: v for k, v in statuses.items() if not (isinstance(k, int) and k < 400)}
            check(live_ok, f"live updates did not resume after the restart (errors {errors})")
            server_errors = {k: v for k, v in errors.items() if isinstance(k, int) and k >= 500
                             and k != 503}
            check(not server_errors, f"answers other than 503 during the restart: {server_errors}")
            return {"posts": len(accepted), "likes": len(traffic.likes),
                    "comments": len(traffic.comments), "requests": sum(statuses.values()),
                    "before_restart": sum(before.values()), "restart_s": round(outage, 2),
                    "errors": errors or 0}
        finally:
            web.stop()
            redis.stop()


if __name__ == "__main__":
    raise SystemExit(run(main))
