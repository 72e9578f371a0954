"""``GET /feed/for_you``: a ranked page for a signed-in viewer or an anonymous app.

A first page ranks (``rank.rank``) candidates from five pools over the last
``FOR_YOU_DAYS``: posts of followed authors, posts with the viewer's strongest tags, posts
liked by fans who liked what the viewer liked, the trending posts, and the newest posts of
merchants and influencers (whom the viewer may not follow yet). The ranked ids are kept as
one snapshot (a Redis list ``fy:{who}:<snapshot>``,
``FOR_YOU_KEEP_SECONDS``), and the cursor names the snapshot and an offset: pages never
repeat or skip an item while new posts arrive. A first page reuses the viewer's snapshot while
it is younger than ``FOR_YOU_SNAPSHOT_SECONDS``, so a warm first page is a read, not a
ranking. Every page is hydrated through the one visibility rule with the viewer's current
blocks and mutes.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from app import jsonio
from app.accounts import service as accounts
from app.accounts.models import Account
from app.errors import ApiError
from app.extensions import redis_client
from app.pagination import decode_cursor, encode_cursor, int_range, invalid_cursor, str_part
from feed import audience, graph, hydrate, interests, rank, stamps, trends
from feed.models import Like, Post

MAX_ITEMS = 300
AUTHOR_KINDS = ("merchant", "influencer")
POOL = 300
REASON_TEXT = {
    "followed": "来自你关注的 {name}",
    "interest": "因为你喜欢 {tag}",
    "trending": "正在流行",
    "similar_fans": "和你口味相似的粉丝也喜欢",
}


def _current_key(who: str) -> str:
    return f"fy:{{{who}}}:current"


def _snapshot_key(who: str, snapshot: str) -> str:
    return f"fy:{{{who}}}:{snapshot}"


def _ids(query: Any) -> list[str]:
    return [str(p.id) for p in query.only("id").limit(POOL)]


def candidates(viewer: Account | None, taste: rank.ViewerTaste,
               now: float) -> list[rank.Candidate]:
    """The four pools, loaded from the post cache (MongoDB for what it misses)."""
    since = datetime.fromtimestamp(now, UTC) - timedelta(days=current_app.config["FOR_YOU_DAYS"])
    recent = Post.objects(status="published", created_at__gte=since).order_by("-created_at")
    top_tags = [t for t, _ in sorted(taste.tags.items(), key=lambda kv: -kv[1])[:5]]
    pools = {
        "followed": _ids(recent.filter(author__in=list(taste.following)[:1000]))
        if taste.following else [],
        "interest": _ids(recent.filter(tags__in=top_tags)) if top_tags else [],
        "similar_fans": _liked_by_similar_fans(viewer, since),
        "trending": trends.top_post_ids(POOL),
        "fresh": _ids(recent.filter(author_kind__in=list(AUTHOR_KINDS))),
    }
    items = hydrate.load([i for ids in pools.values() for i in ids])
    kinds = {i: a["account"]["kind"] for i, a in accounts.public_many(
        {item["author_id"] for item in items.values()}).items()}
    profile = audience.profile_of(viewer)
    out = []
    for source, ids in pools.items():
        for post_id in ids:
            item = items.get(post_id)
            if (item is None or item["status"] != "published"
                    or not audience.matches(item["audience"], profile)):
                continue
            if (kinds.get(item["author_id"]) not in AUTHOR_KINDS
                    and item["author_id"] not in taste.following):
                continue  # merchants, influencers, and whoever the viewer follows
            out.append(rank.Candidate(post_id, item["author_id"], tuple(item["tags"]),
                                      item["score"] / 1000.0, item["view_count"],
                                      item["like_count"], item["comment_count"], source))
    return rank.gather(out)


def _liked_by_similar_fans(viewer: Account | None, since: datetime) -> list[str]:
    """Recent posts liked by fans who liked what the viewer recently liked."""
    if viewer is None:
        return []
    mine = [like.post for like in Like.objects(account=viewer.id).order_by("-created_at")
            .only("post").limit(20)]
    if not mine:
        return []
    fans = {like.account for like in Like.objects(post__in=mine, account__ne=viewer.id)
            .only("account").limit(200)}
    if not fans:
        return []
    theirs = (Like.objects(account__in=list(fans), created_at__gte=since)
              .order_by("-created_at").only("post").limit(POOL))
    return list(dict.fromkeys(str(like.post) for like in theirs if like.post not in mine))


def _build(viewer: Account | None, who: str) -> tuple[str, int]:
    now = time.time()
    taste = interests.taste(viewer, who, now)
    ranked = rank.rank(candidates(viewer, taste, now), taste, now, MAX_ITEMS)
    snapshot = secrets.token_hex(6)
    key = _snapshot_key(who, snapshot)
    keep = current_app.config["FOR_YOU_KEEP_SECONDS"]
    pipe = redis_client.pipeline(transaction=True)  # one slot ({who})
    entries = [f"{r.id}|{r.reason}|{r.tag or ''}" for r in ranked] or ["-"]
    pipe.rpush(key, *entries)
    pipe.expire(key, keep)
    reuse = current_app.config["FOR_YOU_SNAPSHOT_SECONDS"]
    if reuse > 0:  # 0: every first page ranks again
        pipe.set(_current_key(who), snapshot, ex=reuse)
    pipe.execute()
    return snapshot, len(entries)


def _snapshot_part(value: object) -> str:
    """A snapshot's name (``secrets.token_hex(6)``)."""
    if len(str_part(value)) != 12:
        raise ValueError("not a snapshot")
    return value


def _read_cursor(cursor: str) -> tuple[str, int]:
    snapshot, offset = decode_cursor(cursor, (_snapshot_part, int_range(1, MAX_ITEMS)))
    return snapshot, offset


def _kept_key(who: str, limit: int) -> str:
    return f"fy:{{{who}}}:page:{limit}"


def page_json(viewer: Account | None, device: str | None, limit: int,
              cursor: str | None = None) -> str:
    """The page as JSON text. A first page is kept ready for ``FEED_PAGE_SECONDS`` (as the
    home feed's is) with a stamp of what it shows: the viewer's snapshot, the viewer's own
    version (likes, comments, follows, blocks) and the feed epoch (posts edited, removed,
    deleted, authors changed), read before it is built; any of them moving shows at once,
    others' counts may be that many seconds late."""
    seconds = current_app.config["FEED_PAGE_SECONDS"]
    who = interests.who_of(viewer, device)
    if cursor or seconds <= 0 or who is None:
        return jsonio.dumps(page(viewer, device, limit, cursor))
    key = _kept_key(who, limit)
    pipe = redis_client.pipeline(transaction=False)
    pipe.hmget(key, "body", "stamp", "built")
    pipe.get(_current_key(who))
    pipe.get(stamps.version_key(viewer.id) if viewer is not None else key + ":none")
    pipe.hget(stamps.epochs_key_for(who), "posts")
    (body, stamp, built), snapshot, version, epoch = pipe.execute()
    own = f"{snapshot}|{version}|{epoch}"
    if body is not None and snapshot and stamp == own and time.time() - float(built) < seconds:
        return body
    body = jsonio.dumps(page(viewer, device, limit))
    snapshot = redis_client.get(_current_key(who))  # the one this page was read from
    pipe = redis_client.pipeline(transaction=False)
    pipe.hset(key, mapping={"body": body, "stamp": f"{snapshot}|{version}|{epoch}",
                            "built": time.time()})
    pipe.expire(key, seconds)
    pipe.execute()
    return body


def page(viewer: Account | None, device: str | None, limit: int,
         cursor: str | None = None) -> dict[str, Any]:
    who = interests.who_of(viewer, device)
    if who is None:
        raise ApiError(400, "validation_error", "anonymous readers need an X-Device-Id header",
                       {"X-Device-Id": ["required without a token"]})
    if cursor:
        snapshot, offset = _read_cursor(cursor)
    else:
        snapshot, offset = redis_client.get(_current_key(who)), 0
    key = _snapshot_key(who, snapshot) if snapshot else None
    pipe = redis_client.pipeline(transaction=False)
    if key:
        pipe.lrange(key, offset, offset + limit - 1)
        pipe.llen(key)
    entries, size = pipe.execute() if key else ([], 0)
    if not size:
        if cursor:
            raise invalid_cursor("expired", message="this ranking has expired: start again")
        snapshot, size = _build(viewer, who)
        key = _snapshot_key(who, snapshot)
        entries = redis_client.lrange(key, 0, limit - 1)
    rows = [e.split("|") for e in entries if e != "-"]
    hidden = graph.hidden_ids(viewer.id) if viewer is not None else set()
    items = hydrate.posts_json([r[0] for r in rows], viewer, hidden_authors=hidden)
    why = {r[0]: (r[1], r[2]) for r in rows}
    for item in items:
        code, tag = why[item["id"]]
        item["reason"] = {"code": code, "text": REASON_TEXT[code].format(
            tag=tag, name=item["author"].get("display_name") or item["author"]["username"])}
    end = offset + limit
    return {"items": items, "next_cursor": encode_cursor([snapshot, end]) if end < size else None}


def recommended(author: Account, viewer: Account, limit: int = 4) -> list[dict[str, Any]]:
    """An account page's "为你推荐": the author's recent posts this viewer may see, ordered
    by the viewer's tastes (the for-you ranking over one author's posts)."""
    now = time.time()
    who = f"a:{viewer.id}"
    taste = interests.taste(viewer, who, now)
    if str(author.id) in taste.hidden:
        return []
    ids = [str(p.id) for p in Post.objects(author=author.id, status="published")
           .order_by("-created_at").only("id").limit(50)]
    items = {i["id"]: i for i in hydrate.posts_json(ids, viewer)}
    pool = [rank.Candidate(i["id"], str(author.id), tuple(i["tags"]), _ts(i["created_at"]),
                           i["view_count"], i["like_count"], i["comment_count"], "interest")
            for i in items.values()]
    ranked = rank.rank(pool, rank.ViewerTaste(tags=taste.tags, authors=taste.authors,
                                              seen=taste.seen), now, limit, diverse=False)
    out = []
    for r in ranked:
        item = items[r.id]
        text = REASON_TEXT["interest"].format(tag=r.tag) if r.reason == "interest" else "热门"
        out.append({**item, "reason": {"code": r.reason, "text": text}})
    return out


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def on_followed(follower: Account, **_: Any) -> None:
    """A new follow: the next first page ranks again, with the followed author's posts."""
    redis_client.delete(_current_key(f"a:{follower.id}"))

