"""Reading home timelines: pushed entries merged with pulled authors, newest first.

A timeline is a Redis sorted set ``tl:{account}`` of post ids scored by creation time (ms),
capped at ``TIMELINE_MAX``. It lives while its owner reads (expiry ``FEED_ACTIVE_DAYS``,
refreshed on every read); a missing one is rebuilt from MongoDB, so no post is ever missing
because of Redis. Cursors are post-derived ``[score, id]`` pairs: stable while new posts
arrive, and the same for every viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app

from app.accounts.models import Account
from app.extensions import redis_client
from app.pagination import after_key, decode_cursor, id_part, ms_part
from app.redis_clients import queue_eval
from app.times import from_ms
from feed import audience, cache, graph, hydrate
from feed.fanout import ensure_recent
from feed.models import PLANNED, Post


def active_seconds() -> int:
    """How long a timeline lives without being read."""
    return current_app.config["FEED_ACTIVE_DAYS"] * 86400


# The end of a rebuild: posts fanned out while MongoDB was being read join; the cap (plus
# the sentinel) holds.
_MERGE_PENDING = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[1], KEYS[3], 'AGGREGATE', 'MAX')
  redis.call('DEL', KEYS[3])
end
redis.call('DEL', KEYS[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
return redis.call('ZCARD', KEYS[1])
"""


def rebuild(account: Account) -> int:
    """Rebuild an account's timeline from MongoDB; returns the number of entries.

    A loading marker is set before MongoDB is read: fan-out meanwhile parks posts in the
    pending set (the timeline is missing), and the store merges them. The store adds to
    what is there (reads filter whatever no longer belongs), so concurrent rebuilds and
    pushes never undo each other.
    """
    cap = current_app.config["TIMELINE_MAX"]
    key = cache.timeline_key(account.id)
    redis_client.set(cache.loading_key(key), "1", ex=60)
    authors = [a for a in graph.following_ids(account.id) if not graph.is_big(a)]
    authors.append(str(account.id))
    profile = audience.profile_of(account)
    posts = (Post.objects(author__in=authors, status="published")
             .order_by("-created_at").only("id", "created_at", "audience", "author").limit(cap))
    members = {cache.SENTINEL: 0}
    for post in posts:
        rule = audience.normalize(post.audience.to_mongo().to_dict()) if post.audience else None
        if str(post.author) == str(account.id) or audience.matches(rule, profile):
            members[str(post.id)] = cache.score(post.created_at)
    pipe = redis_client.pipeline(transaction=True)  # MULTI: readers never see it half written
    pipe.zadd(key, members)  # a union: a concurrent rebuild or push is never undone
    queue_eval(pipe, _MERGE_PENDING, 3, key, cache.loading_key(key), cache.pending_key(account.id),
              cap + 1)
    pipe.expire(key, active_seconds())
    return pipe.execute()[1] - 1


def ensure(account: Account) -> str:
    """The account's timeline key, rebuilt if missing; reading keeps it alive."""
    key = cache.timeline_key(account.id)
    if not redis_client.expire(key, active_seconds()):
        rebuild(account)
    return key


def merge_author(account_id: object, author_id: object) -> None:
    """After a follow: the author's recent posts join an existing timeline."""
    if graph.is_big(author_id):
        return
    key = cache.timeline_key(account_id)
    if not redis_client.exists(key):
        return
    recent = redis_client.zrange(ensure_recent(author_id), 0, -1, withscores=True)
    members = {m: s for m, s in recent if m != cache.SENTINEL}
    if members:
        redis_client.zadd(key, members)


def drop_author(account_id: object, author_id: object) -> None:
    """After an unfollow: the author's recent posts leave the timeline (reads filter the rest)."""
    recent = [m for m in redis_client.zrange(ensure_recent(author_id), 0, -1) if m]
    if recent:
        redis_client.zrem(cache.timeline_key(account_id), *recent)


def _bounds(cursor: str | None, after: str | None) -> tuple[list | None, list | None]:
    def parse(value: str | None, name: str) -> list | None:
        return decode_cursor(value, (ms_part, id_part), name)

    return parse(cursor, "cursor"), parse(after, "after")


def _range(pipe: Any, key: str, upper: list | None, lower: list | None, count: int) -> None:
    pipe.zrevrangebyscore(key, upper[0] if upper else "+inf", lower[0] if lower else "-inf",
                          start=0, num=count, withscores=True)


def _candidates(keys: list[str], upper: list | None, lower: list | None, count: int,
                prefetched: dict[str, list] | None = None) -> tuple[list[tuple[int, str]], bool]:
    """(score, id) pairs strictly between the bounds, newest first, merged across keys.

    Each key gives at most ``count`` rows (``prefetched`` holds rows already read with these
    bounds); below the oldest row of a key that was cut short that key may have more, so the
    merge stops there. Returns the pairs and whether any key was cut short (more may follow).
    """
    prefetched = prefetched or {}
    todo = [key for key in keys if key not in prefetched]
    results = dict(prefetched)
    if todo:
        pipe = redis_client.pipeline(transaction=False)
        for key in todo:
            _range(pipe, key, upper, lower, count)
        results.update(zip(todo, pipe.execute()))
    merged: dict[str, int] = {}
    floor: tuple[int, str] | None = None
    for rows in results.values():
        for member, score in rows:
            if member:
                merged[member] = int(score)
        if len(rows) == count:
            last = (int(rows[-1][1]), rows[-1][0])
            floor = last if floor is None or last > floor else floor
    pairs = sorted(((s, m) for m, s in merged.items()), reverse=True)
    if upper:
        pairs = [p for p in pairs if p < (upper[0], upper[1])]
    if lower:
        pairs = [p for p in pairs if p > (lower[0], lower[1])]
    if floor is not None:
        pairs = [p for p in pairs if p >= floor]
    return pairs, floor is not None


def candidate_count(limit: int) -> int:
    """Rows read per key for a page: a few spare for posts the viewer may not see."""
    return limit + 10


def read(keys: list[str], viewer: Account | None, limit: int, cursor: str | None = None,
         after: str | None = None, allowed: set[str] | None = None,
         hidden: set[str] | None = None, prefetched: dict[str, list] | None = None
         ) -> dict[str, Any]:
    """One newest-first page from sorted sets of post ids, hydrated for the viewer.

    ``allowed`` keeps only those authors; ``hidden`` drops these. Invisible posts (deleted,
    removed, another segment's) are skipped and the page is filled from further down.
    ``prefetched`` holds keys' first rows, read by the caller with ``_range`` and
    ``candidate_count(limit)``.
    """
    upper, lower = _bounds(cursor, after)
    items: list[dict] = []
    count = candidate_count(limit)
    while True:
        pairs, truncated = _candidates(keys, upper, lower, count, prefetched)
        prefetched = None
        done = 0
        while len(items) <= limit and done < len(pairs):  # hydrate only what the page needs
            chunk = [m for _, m in pairs[done: done + limit + 1 - len(items)]]
            done += len(chunk)
            page = hydrate.posts_json(chunk, viewer, hidden_authors=hidden)
            items += [p for p in page if allowed is None or p["author"]["id"] in allowed]
        if len(items) > limit or not truncated or not pairs:
            break
        upper = [pairs[-1][0], pairs[-1][1]]
        count = min(count * 2, 1000)
    more = len(items) > limit or truncated
    items = items[:limit]
    next_cursor = items[-1]["cursor"] if items and more else None
    head = items[0]["cursor"] if items and not cursor else after
    return {"items": items, "next_cursor": next_cursor, "head_cursor": head}


def home(viewer: Account, limit: int, cursor: str | None = None, after: str | None = None,
         pulled: list[str] | None = None) -> dict[str, Any]:
    """One page of the viewer's home feed: pushed entries plus pulled big authors
    (``pulled``, if given, receives their ids)."""
    key = cache.timeline_key(viewer.id)
    upper, lower = _bounds(cursor, after)
    pipe = redis_client.pipeline(transaction=False)  # everything the page needs: one round trip
    pipe.expire(key, active_seconds())
    pipe.smembers(cache.following_key(viewer.id))
    pipe.smembers(cache.hidden_key(viewer.id))
    pipe.smembers(cache.blocked_by_key(viewer.id))
    _range(pipe, key, upper, lower, candidate_count(limit))
    alive, following, hidden, blocked, rows = pipe.execute()
    if not alive:
        rebuild(viewer)
    # an empty answer means the cached set is missing (present ones hold a sentinel)
    following = _members(following) if following else graph.following_ids(viewer.id)
    hidden = _members(hidden) if hidden else graph.hidden_ids(viewer.id)
    blocked = _members(blocked) if blocked else graph.blocked_by(viewer.id)
    ids = list(following)
    bigs = [a for a, big in zip(ids, redis_client.smismember(cache.BIG_AUTHORS, ids)) if big] \
        if ids else []
    if pulled is not None:
        pulled.extend(bigs)
    recent = [cache.recent_key(a) for a in bigs]
    if recent:
        pipe = redis_client.pipeline(transaction=False)
        for recent_key in recent:
            pipe.exists(recent_key)
        for author_id, present in zip(bigs, pipe.execute()):
            if not present:
                ensure_recent(author_id)
    return read([key, *recent], viewer, limit, cursor, after,
                allowed=following | {str(viewer.id)}, hidden=hidden | blocked,
                prefetched={key: rows} if alive else None)


def _members(values: set[str]) -> set[str]:
    values.discard(cache.SENTINEL)
    return values


def account_posts(author: Account, viewer: Account | None, limit: int,
                  cursor: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """An account's posts, newest first, as this viewer may see them (MongoDB-backed, so
    every post can be paged to, not only the recent ones)."""
    upper, _ = _bounds(cursor, None)
    own = viewer is not None and viewer.id == author.id
    # the author's own drafts and scheduled posts have their own lists (/accounts/me/drafts)
    query = Post.objects(author=author.id, **({"status__nin": list(PLANNED)} if own
                                              else {"status": "published"}))
    if kind:
        query = query.filter(kind=kind)
    return query_page(query, viewer, limit, cursor)


def visible_count(author: Account, viewer: Account | None) -> int:
    """How many of the author's posts this viewer may see (the count an account page shows:
    audience rules, blocks and suspension apply, as for the posts themselves)."""
    if viewer is not None and viewer.id == author.id:
        return Post.objects(author=author.id, status__nin=list(PLANNED)).count()
    if author.suspended or (viewer is not None
                            and str(author.id) in graph.blocked_by(viewer.id)):
        return 0
    published = Post.objects(author=author.id, status="published")
    profile = audience.profile_of(viewer)
    restricted = published.filter(audience__ne=None).only("audience")
    return published.filter(audience=None).count() + sum(
        1 for p in restricted
        if audience.matches(audience.normalize(p.audience.to_mongo().to_dict()), profile))


def tagged_posts(tag: str, viewer: Account | None, limit: int,
                 cursor: str | None = None) -> dict[str, Any]:
    """Published posts with this tag, newest first, as this viewer may see them."""
    return query_page(Post.objects(tags=tag, status="published"), viewer, limit, cursor)


def query_page(query: Any, viewer: Account | None, limit: int,
               cursor: str | None = None) -> dict[str, Any]:
    """One page of a MongoDB query of posts, newest first, through the one visibility rule
    (hidden posts are skipped and the page filled from further rows)."""
    upper, _ = _bounds(cursor, None)
    found, more = keyset_posts(query, viewer, limit, "created_at", upper,
                               lambda post: cache.score(post.created_at), from_ms)
    items = [item for item, _ in found]
    return {"items": items, "next_cursor": items[-1]["cursor"] if items and more else None}


def keyset_posts(query: Any, viewer: Account | None, limit: int, field: str,
                 bound: list | None, key: Callable[[Post], Any],
                 value: Callable[[Any], Any] = lambda key: key
                 ) -> tuple[list[tuple[dict, list]], bool]:
    """Up to ``limit`` posts of a MongoDB query in the order of ``(field, id)``, descending,
    after ``bound`` (a ``[key, id]`` from a cursor), as the viewer may see them (hidden ones
    are skipped and the page filled from further rows); each with its own ``[key, id]``, and
    whether more follow. ``key`` is a post's cursor key, ``value`` turns one into ``field``'s."""
    items: list[tuple[dict, list]] = []
    more = False
    while len(items) <= limit:
        batch = query if bound is None else after_key(query, field, value(bound[0]), bound[1])
        rows = list(batch.order_by(f"-{field}", "-id").only("id", "created_at", field)
                    .limit(limit + 10))
        keys = {str(row.id): [key(row), str(row.id)] for row in rows}
        items += [(item, keys[item["id"]]) for item in hydrate.posts_json(list(keys), viewer)]
        more = len(rows) == limit + 10
        if not more:
            break
        bound = keys[str(rows[-1].id)]
    return items[:limit], more or len(items) > limit
