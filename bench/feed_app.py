"""The app the feed benchmark serves under gunicorn, seeded in-process and warmed.

Without MONGODB_URI the store is mongomock inside this process, so the seed runs here: one
ordinary fan following ten pushed authors, one fan following ten pulled authors (simulated
10-million-follower accounts), posts, warm caches. ``/bench/floor`` is the floor: a bare
Flask endpoint returning a same-sized JSON body from the same server;
``/bench/floor-one-round-trip`` adds one Redis round trip to it.
"""

from __future__ import annotations

import json
import os

from flask import g, jsonify

from app.auth import auth_required
from app.factory import create_app

app = create_app(DEMO_DATA=False, RATELIMIT_ENABLED=False, STORE_SNAPSHOT_SECONDS=0)  # seeded per run
app.config["RATELIMIT_ENABLED"] = False
OUT = os.environ.get("BENCH_OUT", "/tmp/feed-bench.json")


def _seed() -> dict:
    from app.accounts import service, tokens
    from app.accounts.models import Account
    from feed import follows, graph, posts, timeline
    from feed.fanout import fan_out
    from feed.hydrate import posts_json

    def account(name: str, kind: str) -> Account:
        return service.register({"username": name, "password": "bench password",
                                 "display_name": name, "kind": kind}, password_hash="x")

    pushed = [account(f"pushed{i}", "merchant") for i in range(10)]
    pulled = [account(f"pulled{i}", "merchant") for i in range(10)]
    ordinary, puller = account("ordinary_fan", "fan"), account("pulling_fan", "fan")
    for author in pushed:
        follows.follow(ordinary, str(author.id))
    for author in pulled:
        follows.follow(puller, str(author.id))
        Account.objects(id=author.id).update_one(set__followers_count=10_000_000)
        service.invalidate(author.id)
        graph.refresh_big(service.get(author.id))
    timeline.ensure(ordinary)
    for round_ in range(8):
        for author in pushed + pulled:
            text = f"{author.username} 新品第 {round_} 期：口红与香水 #新品"  # distinct: not spam
            post = posts.create(author, {"kind": "post", "text": text, "tags": ["新品"]})
            assert post.status == "published", post.review_reasons
            fan_out(str(post.id))
    page = timeline.home(ordinary, 20)
    timeline.home(puller, 20)
    floor_body = json.dumps({"items": page["items"], "next_cursor": page["next_cursor"],
                             "head_cursor": page["head_cursor"]})
    posts_json([p["id"] for p in page["items"]], ordinary)
    return {"ordinary": tokens.issue(ordinary.id), "puller": tokens.issue(puller.id),
            "floor_bytes": len(floor_body), "floor": json.loads(floor_body)}


with app.app_context():
    SEED = _seed()
with open(OUT, "w") as fh:
    json.dump({k: v for k, v in SEED.items() if k != "floor"}, fh)


@app.get("/bench/floor")
def floor():
    return jsonify(SEED["floor"])


@app.get("/bench/floor-one-round-trip")
def floor_one_round_trip():
    """The floor plus one Redis round trip: the least a read that checks a token can cost
    (a token is checked in Redis on every request, so that revoking it works at once)."""
    from app.extensions import redis_client

    redis_client.get("bench:nothing")
    return jsonify(SEED["floor"])


@app.get("/bench/home-rebuilt")
@auth_required()
def home_rebuilt():
    """The home feed's first page built on every read, as when the kept page is stale."""
    from feed import timeline

    return jsonify(timeline.home(g.account, 20))
