"""The first page of each home feed, kept ready for the next identical read.

Apps read the first page of the home feed far more often than it changes (every app start
and resume, pull-to-refresh, several devices), and hydrating it costs some thirty Redis
commands. A page is kept as ready JSON for ``FEED_PAGE_SECONDS`` with a stamp of what it
was built from, read *before* it was built, so a change that lands while it is being built
leaves it stale, never wrong:

- the viewer's timeline (newest entry and size): a pushed post shows at once;
- the pulled epoch, moved when an author above ``FANOUT_MAX_FOLLOWERS`` publishes (only
  for pages that pull such authors): a pulled post shows at once;
- the viewer's own version, moved by what the viewer does (likes, comments, follows,
  blocks, profile): the viewer's own actions show at once;
- the feed epoch, moved when a post that others could see is edited, removed or deleted,
  or an author with posts changes (suspension, name): such changes show at once.

Counts moved by other people (likes, comments, views) may show up to ``FEED_PAGE_SECONDS``
late; live ``post.counts`` events carry them sooner. ``FEED_PAGE_SECONDS=0`` turns it off.
When a page has aged out but nothing it shows changed, one request rebuilds it while the
viewer's other requests are still given the aged page: concurrent reads never all rebuild.
The versions and epochs, and what moves them, are ``stamps``.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, request

from app import etags, jsonio
from app.extensions import redis_client
from app.pagination import DEFAULT_LIMIT
from app.redis_clients import queue_eval
from feed import cache, stamps, timeline


def page_key(account_id: object, limit: int) -> str:
    return f"page:{{{account_id}}}:{limit}"


# The kept page and what its stamp reads in the viewer's keys (one Cluster slot): the
# viewer's version and the timeline's newest entry, size and remaining life. The reply
# names the page it read (a prefetch guessed the page size from the raw query).
_KEPT = """
local page = redis.call('HMGET', KEYS[1], 'body', 'stamp', 'built', 'etag')
local head = redis.call('ZREVRANGE', KEYS[3], 0, 0)[1] or false
return {KEYS[1], page[1], page[2], page[3], redis.call('GET', KEYS[2]),
        redis.call('TTL', KEYS[3]), head, redis.call('ZCARD', KEYS[3]), page[4]}
"""
# A kept page served keeps the timeline alive; renewing its expiry at most this often
# spares Redis a write (replicated, logged) on every read.
RENEW_SECONDS = 3600
# An aged page outlives FEED_PAGE_SECONDS by this much, served only while it is rebuilt.
REBUILD_SECONDS = 2


def _queue_reads(pipe: Any, viewer_id: object, limit: object) -> None:
    queue_eval(pipe, _KEPT, 3, page_key(viewer_id, limit), stamps.version_key(viewer_id),
              cache.timeline_key(viewer_id))
    pipe.hmget(stamps.epochs_key_for(viewer_id), "posts", "pulled")


def prefetch(pipe: Any, viewer_id: str) -> None:
    """``auth_required(prefetch=...)`` for the home feed: the kept first page and its stamp
    are read in the token's round trip, so a warm first page is one round trip."""
    limit, args = request.args.get("limit", str(DEFAULT_LIMIT)), request.args
    if (limit.isdecimal() and len(limit) <= 3 and "cursor" not in args and "after" not in args
            and current_app.config["FEED_PAGE_SECONDS"] > 0):
        _queue_reads(pipe, viewer_id, int(limit))


def home_json(viewer: Any, limit: int, cursor: str | None = None, after: str | None = None,
              prefetched: list | None = None) -> str:
    """The home feed page as JSON text (see ``home_page``)."""
    return home_page(viewer, limit, cursor, after, prefetched)[0]


def home_page(viewer: Any, limit: int, cursor: str | None = None, after: str | None = None,
              prefetched: list | None = None) -> tuple[str, str | None]:
    """The home feed page as JSON text, and for the first page its ETag: the kept first
    page (tagged once, when built) when nothing it shows changed.

    ``prefetched``: the replies of ``prefetch`` when the request's authentication read them.
    """
    seconds = current_app.config["FEED_PAGE_SECONDS"]
    if cursor or after:
        return jsonio.dumps(timeline.home(viewer, limit, cursor, after)), None
    if seconds <= 0:
        page = jsonio.dumps(timeline.home(viewer, limit))
        return page, etags.digest(page)
    key = page_key(viewer.id, limit)
    if not prefetched or prefetched[0][0] != key:
        pipe = redis_client.pipeline(transaction=False)
        _queue_reads(pipe, viewer.id, limit)
        prefetched = pipe.execute()
    (_, body, stamp, built, version, ttl, head, size, etag), (posts, pulled) = prefetched
    own = f"{posts}|{version}|{head or '-'}|{size}"
    now = time.time()
    if body is not None and ttl != -2 and stamp in (own, f"{own}|{pulled}"):
        if ttl < timeline.active_seconds() - RENEW_SECONDS:
            redis_client.expire(cache.timeline_key(viewer.id), timeline.active_seconds())
        if now - float(built or 0) < seconds or not cache.claim(key, REBUILD_SECONDS):
            return body, etag or etags.digest(body)
    pulls: list[str] = []
    page = jsonio.dumps(timeline.home(viewer, limit, pulled=pulls))
    etag = etags.digest(page)
    pipe = redis_client.pipeline(transaction=False)
    pipe.hset(key, mapping={"body": page, "stamp": f"{own}|{pulled}" if pulls else own,
                            "built": now, "etag": etag})
    pipe.expire(key, seconds + REBUILD_SECONDS)
    pipe.delete(cache.claim_key(key))
    pipe.execute()
    return page, etag

