"""Turning post ids into the contract's Post JSON for one viewer, from Redis when warm.

A post's cache entry is the hash ``post:{id}``: ``json`` (what every viewer sees, as
``CachedPostSchema`` writes it) and the counts ``like``, ``comment``, ``view`` (the last
kept in step with the ``pv:{id}`` unique-viewer sketch), so one HMGET per post hydrates it.
Authors come from the public account cache. A deleted post leaves a tombstone so a stale
timeline entry costs no MongoDB query. A warm page is two round trips: the posts with the
viewer's likes and blocks, then the authors. Which posts a viewer gets is decided by ``feed.visibility``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from flask import current_app
from marshmallow import fields

from app import jsonio
from app.accounts import service as accounts
from app.accounts.models import Account
from app.extensions import redis_client
from app.pagination import encode_cursor
from feed import audience, cache, graph
from feed.models import Like, Post
from feed.schemas import PostSchema
from feed.visibility import visible
from media import service as media

TOMBSTONE = "-"


class CachedPostSchema(PostSchema):
    """What every viewer sees of a post, kept in its cache entry: the contract's Post minus
    the author, media, counts, ``liked`` and cursor (each page adds them), plus the author's
    and media's ids and the timeline ``score``; ``audience`` as ``feed.visibility`` reads it."""

    class Meta:
        exclude = ("author", "media", "like_count", "comment_count", "view_count", "liked",
                   "cursor")

    author_id = fields.String(attribute="author")
    text = fields.Function(lambda post: post.text or "")
    media_ids = fields.List(fields.String())
    audience = fields.Function(lambda post: audience.normalize(
        post.audience.to_mongo().to_dict()) if post.audience else None)
    error = fields.Function(lambda post: post.error or None)
    score = fields.Function(lambda post: cache.score(post.created_at))


_cached = CachedPostSchema()


def store(post: Post) -> dict[str, Any]:
    """(Re)write a post's cache entry from the document; returns it with its counts."""
    data = _cached.dump(post)
    key = cache.post_key(post.id)
    counts = {"like_count": post.like_count, "comment_count": post.comment_count,
              "view_count": max(post.view_count, redis_client.pfcount(cache.views_key(post.id)))}
    pipe = redis_client.pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"json": jsonio.dumps(data), "like": counts["like_count"],
                            "comment": counts["comment_count"], "view": counts["view_count"]})
    pipe.expire(key, cache.POST_TTL)
    pipe.execute()
    return {**data, **counts}


# A changed post's new JSON goes into an existing entry only; its counts stay as they are.
_RESTATE = """
if redis.call('HEXISTS', KEYS[1], 'json') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1])
return 1
"""


def restate(post: Post) -> None:
    """Rewrite a changed post's cached JSON, keeping the cached counts: they move with every
    like, comment and view, while this document's counts may be older (read before them)."""
    redis_client.eval(_RESTATE, 1, cache.post_key(post.id), jsonio.dumps(_cached.dump(post)))


def forget(post_id: object, deleted: bool = False) -> None:
    """Drop a post's cache entry; a deleted post leaves a tombstone."""
    key = cache.post_key(post_id)
    pipe = redis_client.pipeline(transaction=True)
    pipe.delete(key)
    if deleted:
        pipe.hset(key, "json", TOMBSTONE)
        pipe.expire(key, cache.POST_TTL)
    pipe.execute()


# Counts move only in a complete cache entry: a write to a missing (or expired) hash would
# leave a partial one without the post's JSON or an expiry.
_HINCRBY_IF_CACHED = """
if redis.call('HEXISTS', KEYS[1], 'json') == 0 then return false end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
"""

# A unique view: the sketch takes the viewer, the cached count follows the sketch.
_VIEW = """
if redis.call('PFADD', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'json') == 1 then
  local total = redis.call('PFCOUNT', KEYS[2])
  if total > tonumber(redis.call('HGET', KEYS[1], 'view') or '0') then
    redis.call('HSET', KEYS[1], 'view', total)
  end
end
return 1
"""


def bump(post_id: object, field: str, delta: int) -> int | None:
    """Move a cached count (``like``/``comment``); None when the post is not cached."""
    result = redis_client.eval(_HINCRBY_IF_CACHED, 1, cache.post_key(post_id), field, delta)
    return None if result is None else int(result)


def add_view(post_id: object, who: str) -> bool:
    """Count a viewer in the post's sketch; True if the viewer is new."""
    return bool(redis_client.eval(_VIEW, 2, cache.post_key(post_id), cache.views_key(post_id), who))


def load(post_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Static JSON plus counts for each existing post id (cache first, one query for misses)."""
    return _fetch(_ids(post_ids), None)[0]


def _ids(post_ids: Iterable[object]) -> list[str]:
    return [i for i in dict.fromkeys(str(p) for p in post_ids) if ObjectId.is_valid(i)]


def _fetch(ids: list[str], viewer: Account | None,
           with_blocks: bool = False) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
    """Posts, which of them the viewer liked, and who blocked the viewer: one round trip
    when the caches are warm."""
    if not ids:
        return {}, set(), set()
    pipe = redis_client.pipeline(transaction=False)
    for post_id in ids:
        pipe.hmget(cache.post_key(post_id), "json", "like", "comment", "view")
    if viewer is not None:
        pipe.smismember(cache.liked_key(viewer.id), [cache.SENTINEL, *ids])
        if with_blocks:
            pipe.smembers(cache.blocked_by_key(viewer.id))
    raw = pipe.execute()
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for post_id, (data, likes, comments, views) in zip(ids, raw):
        if data == TOMBSTONE:
            continue
        if data is None or views is None:
            missing.append(post_id)
            continue
        item = jsonio.loads(data)
        item["like_count"], item["comment_count"], item["view_count"] = \
            int(likes), int(comments), int(views)
        found[post_id] = item
    if missing:
        found.update(_load_missing(missing))
    liked: set[str] = set()
    blocked_by: set[str] = set()
    if viewer is not None:
        liked = _liked(viewer, ids, raw[len(ids)])
        if with_blocks:
            blocked_by = raw[len(ids) + 1]
            if not blocked_by:  # missing from Redis (a cached set holds the sentinel)
                blocked_by = graph.blocked_by(viewer.id)
            blocked_by.discard(cache.SENTINEL)
    return found, liked, blocked_by


def _load_missing(post_ids: list[str]) -> dict[str, dict[str, Any]]:
    found = {}
    docs = {str(p.id): p for p in Post.objects(id__in=post_ids)}
    for post_id in post_ids:
        post = docs.get(post_id)
        if post is None:
            forget(post_id, deleted=True)
        else:
            found[post_id] = store(post)
    return found


def liked_ids(account_id: object) -> set[str]:
    """Posts the account liked (Redis, loaded from MongoDB when missing; ``interactions``
    keeps the cached set in step with each like)."""
    return cache.set_members(cache.liked_key(account_id), lambda: (
        str(like.post) for like in Like.objects(account=account_id).only("post")),
        ttl=int(current_app.config["LIKED_CACHE_SECONDS"]))


def _liked(viewer: Account, post_ids: list[str], flags: list) -> set[str]:
    if not flags[0]:  # the viewer's likes are not cached (any more): load them
        return set(post_ids) & liked_ids(viewer.id)
    return {post_id for post_id, flag in zip(post_ids, flags[1:]) if flag}


def _media(ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return media.media_json_many(ids)


def posts_json(post_ids: Iterable[str], viewer: Account | None = None,
               hidden_authors: set[str] | None = None, check: bool = True) -> list[dict]:
    """Contract Post JSON, in the given order, of the posts the viewer may see."""
    ids = _ids(post_ids)
    items, liked, blocked_by = _fetch(ids, viewer, with_blocks=check)
    authors = accounts.public_many({i["author_id"] for i in items.values()})
    profile = audience.profile_of(viewer)
    hidden_authors = hidden_authors or set()
    result = []
    for post_id in ids:
        item = items.get(post_id)
        if item is None or item["author_id"] in hidden_authors:
            continue
        author = authors.get(item["author_id"])
        if author is None or (check and not visible(item, viewer, profile, author, blocked_by)):
            continue
        del item["author_id"]
        item["author"] = author["account"]
        item["media"] = _media(item.pop("media_ids"))
        item["liked"] = post_id in liked
        item["cursor"] = encode_cursor([item.pop("score"), post_id])
        if item["error"] is None:
            del item["error"]
        result.append(item)
    return result


def post_json(post: Post | str, viewer: Account | None = None) -> dict | None:
    """One post for one viewer, or None if the viewer may not see it."""
    result = posts_json([str(post.id if isinstance(post, Post) else post)], viewer)
    return result[0] if result else None
