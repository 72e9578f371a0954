"""A Redis Cluster master is killed under load; its replica takes over.

The data is on a real local cluster (3 masters, 3 replicas, ``cluster-node-timeout`` 2 s);
the Celery broker and the Socket.IO queue on a plain redis-server, as in production. Client
threads post, read home feeds, like and comment; a master is SIGKILLed (no goodbye); the
cluster promotes its replica. What must hold:

- requests during the failover answer 503 (never another 5xx), and only for a few seconds:
  the window from the first to the last failed request is reported and must stay under
  ``--max-window`` seconds;
- afterwards everything works: a stretch of traffic without a single failed request, new
  posts fan out, and the killed node comes back as a replica;
- nothing accepted is lost: every post the API accepted is in every follower's home feed,
  every accepted like and comment is there (MongoDB holds them; what Redis lost with the
  dead master is rebuilt from it, see README_proof.md "Redis Cluster failover").

``python -m bench.faults.cluster_failover [--seconds 30] [--fans 40] [--merchants 4]``
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from bench.faults.harness import Client, WebServer, check, fixed_redis, run, scratch, wait_for
from bench.faults.redis_restart import Traffic
from tests.servers.redis_cluster import RedisCluster


class TimedClient(Client):
    """Records when each request failed (a non-2xx answer or no answer)."""

    def __init__(self, base_url: str, failures: list[tuple[float, object]], lock) -> None:
        super().__init__(base_url)
        self.failures, self.lock = failures, lock

    def call(self, method: str, path: str, token: str | None = None, **kwargs):
        try:
            r = super().call(method, path, token, **kwargs)
        except Exception as exc:
            with self.lock:
                self.failures.append((time.monotonic(), type(exc).__name__))
            raise
        if r.status_code >= 400:
            with self.lock:
                self.failures.append((time.monotonic(), r.status_code))
        return r


class TimedTraffic(Traffic):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.failures: list[tuple[float, object]] = []

    def worker(self, seed: int) -> None:
        client, rng = TimedClient(self.url, self.failures, self.lock), random.Random(seed)
        while not self.stop.is_set():
            try:
                self._one(client, rng)
            except Exception as exc:
                with self.lock:
                    self.statuses[type(exc).__name__] += 1
                time.sleep(0.05)


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30, help="traffic after the kill")
    parser.add_argument("--fans", type=int, default=40)
    parser.add_argument("--merchants", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-window", type=float, default=10.0,
                        help="longest allowed span of failed requests (s)")
    args = parser.parse_args(argv)
    cluster = RedisCluster(masters=3, replicas=1, node_timeout_ms=2000).start()
    queues = fixed_redis()
    with scratch("cluster") as var:
        web = WebServer(cluster.url, var, CELERY_BROKER_URL=queues.url,
                        SOCKETIO_MESSAGE_QUEUE=queues.url).start()
        try:
            client = Client(web.url)
            merchants = [client.register(f"brand{i}", "merchant") for i in range(args.merchants)]
            fans = [client.register(f"fan{i}") for i in range(args.fans)]
            for fan in fans:
                for merchant in merchants:
                    r = client.call("POST", f"/accounts/{merchant['id']}/follow", fan["token"])
                    check(r.status_code == 200, f"follow: {r.status_code} {r.text[:200]}")
                client.home_ids(fan["token"], pages=1)  # an active reader: pushed to

            traffic = TimedTraffic(web.url, merchants, fans)
            threads = [threading.Thread(target=traffic.worker, args=(i,), daemon=True)
                       for i in range(args.threads)]
            for thread in threads:
                thread.start()
            time.sleep(5)
            before = sum(traffic.statuses.values())
            check(not traffic.failures, f"requests failed before the kill: {traffic.failures[:5]}")
            killed_at = time.monotonic()
            killed = cluster.kill_master(0)
            failover_s = cluster.wait_failover(timeout=60)
            time.sleep(max(0.0, args.seconds - (time.monotonic() - killed_at)))
            cluster.restart(killed)  # back as a replica of its successor
            time.sleep(3)
            traffic.stop.set()
            for thread in threads:
                thread.join(30)
            statuses = dict(traffic.statuses)
            failures = list(traffic.failures)
            window = (failures[-1][0] - failures[0][0]) if failures else 0.0
            kinds = {kind for _, kind in failures}
            quiet_after = (time.monotonic() - failures[-1][0]) if failures else args.seconds
            check(kinds <= {503}, f"failures other than 503 during the failover: {kinds}")
            check(window <= args.max_window,
                  f"requests failed for {window:.1f} s (allowed {args.max_window:.0f} s)")
            check(quiet_after >= 5, f"requests still failing {quiet_after:.1f} s before the end")
            check(killed.address not in {n.address for n in cluster.master_nodes()},
                  "the killed master came back as a master")

            # reconciliation: nothing accepted is lost
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
            r = client.call("POST", "/posts", merchants[0]["token"],
                            json={"kind": "post", "text": "after the failover"})
            check(r.status_code == 201, f"post after the failover: {r.status_code}")
            fresh = r.json()["id"]
            wait_for(lambda: all(fresh in client.home_ids(f["token"], pages=1) for f in fans), 60,
                     "a new post in every follower's feed after the failover")
            return {"posts": len(accepted), "likes": len(traffic.likes),
                    "comments": len(traffic.comments), "requests": sum(statuses.values()),
                    "before_kill": before, "failover_s": round(failover_s, 1),
                    "failed_requests": len(failures), "failed_window_s": round(window, 1),
                    "first_failure_after_kill_s": round(failures[0][0] - killed_at, 1)
                    if failures else None}
        finally:
            web.stop()
            queues.stop()
            cluster.stop()


if __name__ == "__main__":
    raise SystemExit(run(main))
