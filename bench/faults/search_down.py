"""The search engine goes away for a while: publishing keeps working, search answers 503
(never a 500, never stale success pretending nothing happened), and once it is back the
catch-up (job retries and the periodic sweep) indexes every post published meanwhile.

Embedded engine: its directory is replaced by a plain file (as root, permissions do not
stop writes), then put back. With ``ELASTICSEARCH_URL`` the same script would stop the
cluster instead; here there is none.

``python -m bench.faults.search_down [--posts 20] [--down 10]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections import Counter

from bench.faults.harness import Client, WebServer, check, fixed_redis, run, scratch, wait_for

WORD = "zebrafish"


def _found(client: Client, ids: set[str]) -> set[str]:
    r = client.call("GET", "/search", params={"q": WORD, "type": "posts", "limit": 100})
    if r.status_code != 200:
        return set()
    return {item["post"]["id"] for item in r.json()["items"] if item.get("post")} & ids


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--down", type=float, default=10, help="seconds the engine is away")
    args = parser.parse_args(argv)
    redis = fixed_redis()
    with scratch("search") as var:
        web = WebServer(redis.url, var, SEARCH_SWEEP_SECONDS="5").start()
        try:
            client = Client(web.url)
            brand = client.register("brand", "merchant")
            r = client.call("POST", "/posts", brand["token"],
                            json={"kind": "post", "text": f"{WORD} before the outage"})
            check(r.status_code == 201, f"post: {r.status_code}")
            first = r.json()["id"]
            wait_for(lambda: _found(client, {first}), 60, "the first post to be searchable")

            search_dir = var / "search"
            away = var / "search.away"
            os.rename(search_dir, away)
            search_dir.write_text("not a directory")  # the engine can neither read nor write
            statuses: Counter = Counter()
            published: set[str] = set()
            started = time.monotonic()
            i = 0
            while time.monotonic() - started < args.down or i < args.posts:
                if i < args.posts:
                    r = client.call("POST", "/posts", brand["token"],
                                    json={"kind": "post", "text": f"{WORD} during {i} 斑马鱼"})
                    check(r.status_code == 201, f"publishing during the outage: {r.status_code} "
                                                f"{r.text[:200]}")
                    published.add(r.json()["id"])
                    i += 1
                r = client.call("GET", "/search", params={"q": WORD})
                statuses[r.status_code] += 1
                if r.status_code == 503:
                    check(r.json()["error"]["code"] == "search_unavailable", r.text[:200])
                time.sleep(0.2)
            health = client.session.get(web.url + "/healthz", timeout=10)
            check(set(statuses) <= {200, 503}, f"search answered {dict(statuses)} while down")
            check(statuses[503] > 0, f"search never said 503 while down: {dict(statuses)}")
            check(health.status_code == 503 and "search" in health.text,
                  f"/healthz did not name search: {health.status_code} {health.text[:200]}")

            search_dir.unlink()
            os.rename(away, search_dir)
            back = time.monotonic()
            wait_for(lambda: _found(client, published) == published, 120,
                     "every post published during the outage to be searchable")
            caught_up = time.monotonic() - back
            check(_found(client, {first}) == {first}, "the post indexed before the outage is gone")
            return {"published_while_down": len(published),
                    "search_answers_while_down": dict(statuses),
                    "caught_up_s": round(caught_up, 1)}
        finally:
            web.stop()
            redis.stop()
            shutil.rmtree(var / "search.away", ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(run(main))
