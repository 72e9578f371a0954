"""Trending tags and posts: time-decayed scores kept in Redis as things happen.

Each engagement adds ``weight * exp((t - era start) / tau)`` to the post's score (and to each
of its tags'): a sorted set whose order is the decayed order at every moment, without ever
rewriting old entries. A score read now is divided by ``exp((now - era start) / tau)``.
Eras last a week so the factors stay small; the first write or read of a new era carries the
old scores over (one ZUNIONSTORE with the week's decay as weight, in a Lua script, so no
write is lost in between).

Spam: an account (or device) counts once per author and action a day, so one account liking
all of an author's posts, or a farm of views from one device, moves trends once. Publishing
counts for the post's tags. Posts are also scored per viewer segment (``female``/``male``, the
actor's declared gender): ``/trends/posts?segment=female``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import current_app

from app.accounts.models import Account
from app.errors import ApiError
from app.extensions import redis_client
from app.pagination import decode_cursor, encode_cursor, int_range
from app.redis_clients import queue_eval
from feed import audience, hydrate
from feed.models import Post

ERA_SECONDS = 7 * 86400
SEGMENTS = ("female", "male")
WEIGHTS = {"published": 1.0, "viewed": 0.25, "liked": 1.0, "commented": 2.0,
           "clicked_product": 1.5}
KEEP = 5000  # entries kept per sorted set (the tail cannot trend)
ONCE_SECONDS = 86400
COUNT_SECONDS = 30  # how long a tag's posts_count is kept

# Carry the previous era's scores into a new era's key (once), then add.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZUNIONSTORE', KEYS[1], 1, KEYS[2], 'WEIGHTS', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
for i = 4, #ARGV, 2 do
  redis.call('ZINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
return 1
"""


def _tau() -> float:
    return current_app.config["TREND_HALF_LIFE_SECONDS"] / math.log(2)


def _key(name: str, era: int) -> str:
    return f"{{trend}}:{name}:{era}"  # one slot: the carry-over spans two eras' keys


def _era(now: float) -> int:
    return int(now // ERA_SECONDS)


def _growth(now: float, era: int) -> float:
    return math.exp((now - era * ERA_SECONDS) / _tau())


def _add(name: str, members: dict[str, float], now: float, pipe: Any) -> None:
    era = _era(now)
    args: list[Any] = [math.exp(-ERA_SECONDS / _tau()), 2 * ERA_SECONDS, KEEP]
    for member, amount in members.items():
        args += [amount, member]
    queue_eval(pipe, _ADD, 2, _key(name, era), _key(name, era - 1), *args)


def record(post: Post, action: str, who: str | None, actor: Account | None,
           now: float | None = None) -> bool:
    """Count one engagement (or a publication) for trends; False when it does not count."""
    if action not in WEIGHTS:
        return False
    now = now or time.time()
    tags = list(post.tags)
    if action == "published":  # an author's tag counts once a day, however many posts
        tags = [tag for tag in tags if redis_client.set(
            f"trend-once:{{a:{post.author}}}:published:{tag}", 1, nx=True, ex=ONCE_SECONDS)]
    elif who is not None:
        once = f"trend-once:{{{who}}}:{action}:{post.author}"
        if not redis_client.set(once, 1, nx=True, ex=ONCE_SECONDS):
            return False
    amount = WEIGHTS[action] * _growth(now, _era(now))
    pipe = redis_client.pipeline(transaction=False)
    if tags:
        _add("tags", {tag: amount for tag in tags}, now, pipe)
    if action != "published":
        _add("posts", {str(post.id): amount}, now, pipe)
        gender = audience.profile_of(actor).get("gender") if actor is not None else None
        if gender in SEGMENTS:
            _add(f"posts:{gender}", {str(post.id): amount}, now, pipe)
    pipe.execute()
    return True


def _ranked(name: str, offset: int, count: int, now: float) -> list[tuple[str, float]]:
    era = _era(now)
    key = _key(name, era)
    if not redis_client.exists(key):  # a new era: carry the last one over first
        _add(name, {}, now, redis_client)
    growth = _growth(now, era)
    rows = redis_client.zrevrange(key, offset, offset + count - 1, withscores=True)
    return [(member, score / growth) for member, score in rows]


def top_post_ids(count: int) -> list[str]:
    """The ``count`` hottest posts now (candidates of the for-you feed)."""
    return [post_id for post_id, _ in _ranked("posts", 0, count, time.time())]


def _offset(cursor: str | None) -> int:
    value = decode_cursor(cursor, int_range(0, KEEP))
    return 0 if value is None else value


def _posts_count(tags: list[str]) -> dict[str, int]:
    """Published posts per tag, from MongoDB, kept briefly in Redis."""
    if not tags:
        return {}
    keys = [f"tag-posts:{{{tag}}}" for tag in tags]
    pipe = redis_client.pipeline(transaction=False)
    for key in keys:  # one slot per tag: no MGET across slots
        pipe.get(key)
    cached = pipe.execute()
    counts = {}
    pipe = redis_client.pipeline(transaction=False)
    for tag, key, value in zip(tags, keys, cached):
        if value is None:
            value = Post.objects(tags=tag, status="published").count()
            pipe.set(key, value, ex=COUNT_SECONDS)
        counts[tag] = int(value)
    pipe.execute()
    return counts


def trending_tags(limit: int, cursor: str | None) -> dict[str, Any]:
    now = time.time()
    offset = _offset(cursor)
    rows = _ranked("tags", offset, limit + 1, now)
    more = len(rows) > limit
    rows = rows[:limit]
    counts = _posts_count([tag for tag, _ in rows])
    items = [{"tag": tag, "score": round(score, 4), "posts_count": counts[tag]}
             for tag, score in rows]
    return {"items": items, "next_cursor": encode_cursor(offset + limit) if more else None}


def trending_posts(viewer: Account | None, segment: str | None, limit: int,
                   cursor: str | None) -> dict[str, Any]:
    """Posts by decayed engagement, as this viewer may see them (hidden ones are skipped)."""
    if segment not in (None, "", *SEGMENTS):
        raise ApiError(400, "validation_error", "unknown segment",
                       {"segment": [f"one of {', '.join(SEGMENTS)}"]})
    name = f"posts:{segment}" if segment else "posts"
    now = time.time()
    offset = _offset(cursor)
    items: list[dict] = []
    next_offset = None
    while offset < KEEP:
        rows = _ranked(name, offset, limit + 10, now)
        found = {i["id"]: i for i in hydrate.posts_json([p for p, _ in rows], viewer)}
        for position, (post_id, score) in enumerate(rows):
            item = found.get(post_id)
            if item is None:
                continue
            if len(items) == limit:  # the next page starts here
                next_offset = offset + position
                break
            item["trend_score"] = round(score, 4)
            items.append(item)
        if next_offset is not None or len(rows) < limit + 10:
            break
        offset += len(rows)
    return {"items": items,
            "next_cursor": encode_cursor(next_offset) if next_offset is not None else None}


# --- receivers ----------------------------------------------------------------------------


def on_post_engaged(post: Post, action: str, who: str | None = None,
                    actor: Account | None = None, **_: Any) -> None:
    if actor is not None and actor.id == post.author:
        return  # authors do not trend their own posts
    record(post, action, who, actor)


def on_post_saved(post: Post, before: str | None = None, **_: Any) -> None:
    """A post that becomes published counts for its tags."""
    if post.status == "published" and before != "published" and post.tags:
        record(post, "published", None, None)
