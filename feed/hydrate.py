"""Turning post ids into the contract's Post JSON for one viewer, from Redis when warm.

The static part of a post lives in ``post:<id>`` (JSON), its counts in ``pc:<id>`` and its
unique viewers in the ``pv:<id>`` sketch; authors come from the account cache. A deleted post
leaves a tombstone so a stale timeline entry costs no MongoDB query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bson import ObjectId

from app.accounts import service as accounts
from app.accounts.models import Account
from app.extensions import redis_client
from app.times import iso
from feed import audience, cache
from feed.models import Post

TOMBSTONE = "-"


def static_json(post: Post) -> dict[str, Any]:
    """What every viewer sees of a post, minus counts, author and ``liked``."""
    return {
        "id": str(post.id),
        "kind": post.kind,
        "author_id": str(post.author),
        "text": post.text or "",
        "title": post.title,
        "body_html": post.body_html,
        "media_ids": list(post.media_ids),
        "tags": list(post.tags),
        "audience": audience.normalize(post.audience.to_mongo().to_dict()) if post.audience else None,
        "products": [
            {"title": p.title, "url": p.url, "price": p.price, "image_url": p.image_url}
            for p in post.products
        ],
        "campaign_id": str(post.campaign_id) if post.campaign_id else None,
        "status": post.status,
        "error": post.error or None,
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "score": cache.score(post.created_at),
    }


def store(post: Post) -> dict[str, Any]:
    """(Re)write a post's cache entries from the document."""
    data = static_json(post)
    pipe = redis_client.pipeline()
    pipe.set(cache.post_key(post.id), json.dumps(data, ensure_ascii=False), ex=cache.POST_TTL)
    pipe.hset(cache.counts_key(post.id), mapping={
        "like": post.like_count, "comment": post.comment_count, "view": post.view_count})
    pipe.expire(cache.counts_key(post.id), cache.POST_TTL)
    pipe.execute()
    return data


def forget(post_id: object, deleted: bool = False) -> None:
    if deleted:
        redis_client.set(cache.post_key(post_id), TOMBSTONE, ex=cache.POST_TTL)
        redis_client.delete(cache.counts_key(post_id))
    else:
        redis_client.delete(cache.post_key(post_id), cache.counts_key(post_id))


def load(post_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Static JSON plus counts for each existing post id (cache first, one query for misses)."""
    ids = [i for i in dict.fromkeys(str(p) for p in post_ids) if ObjectId.is_valid(i)]
    if not ids:
        return {}
    pipe = redis_client.pipeline(transaction=False)
    for post_id in ids:
        pipe.get(cache.post_key(post_id))
        pipe.hmget(cache.counts_key(post_id), "like", "comment", "view")
        pipe.pfcount(cache.views_key(post_id))
    raw = pipe.execute()
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for index, post_id in enumerate(ids):
        data, counts, views = raw[3 * index: 3 * index + 3]
        if data == TOMBSTONE:
            continue
        if data is None or counts[0] is None:
            missing.append(post_id)
            continue
        item = json.loads(data)
        item["like_count"], item["comment_count"] = int(counts[0]), int(counts[1])
        item["view_count"] = max(int(counts[2]), views)
        found[post_id] = item
    if missing:
        docs = {str(p.id): p for p in Post.objects(id__in=missing)}
        for post_id in missing:
            post = docs.get(post_id)
            if post is None:
                forget(post_id, deleted=True)
                continue
            item = store(post)
            item["like_count"], item["comment_count"] = post.like_count, post.comment_count
            item["view_count"] = max(post.view_count, redis_client.pfcount(cache.views_key(post_id)))
            found[post_id] = item
    return found


def visible(item: dict[str, Any], viewer: Account | None, profile: dict | None,
            author: Account | None, blocked_by: set[str]) -> bool:
    """The one visibility rule for posts in lists, feeds, pages and search hydration."""
    if author is None:
        return False
    own = viewer is not None and str(viewer.id) == item["author_id"]
    if own:
        return True
    if author.suspended or item["status"] != "published" or item["author_id"] in blocked_by:
        return False
    return audience.matches(item["audience"], profile)


def _liked(viewer: Account | None, post_ids: list[str]) -> set[str]:
    if viewer is None or not post_ids:
        return set()
    from feed.interactions import ensure_liked_cache

    key = cache.liked_key(viewer.id)
    flags = redis_client.smismember(key, [cache.SENTINEL, *post_ids])
    if not flags[0]:  # not cached (any more): load it, then ask again
        ensure_liked_cache(viewer.id)
        flags = redis_client.smismember(key, [cache.SENTINEL, *post_ids])
    return {post_id for post_id, flag in zip(post_ids, flags[1:]) if flag}


def _media(ids: list[str]) -> list[dict]:
    if not ids:
        return []
    try:
        from media.service import media_json_many
    except ImportError:
        return [{"id": i} for i in ids]
    return media_json_many(ids)


def posts_json(post_ids: Iterable[str], viewer: Account | None = None,
               hidden_authors: set[str] | None = None, check: bool = True) -> list[dict]:
    """Contract Post JSON, in the given order, of the posts the viewer may see."""
    ids = [str(i) for i in post_ids]
    items = load(ids)
    authors = accounts.get_many({i["author_id"] for i in items.values()})
    profile = audience.profile_of(viewer)
    blocked_by: set[str] = set()
    if viewer is not None and check:
        from feed.graph import blocked_by as blocked_by_of

        blocked_by = blocked_by_of(viewer.id)
    hidden_authors = hidden_authors or set()
    out = []
    for post_id in ids:
        item = items.get(post_id)
        if item is None or item["author_id"] in hidden_authors:
            continue
        author = authors.get(item["author_id"])
        if check and not visible(item, viewer, profile, author, blocked_by):
            continue
        out.append(item)
    liked = _liked(viewer, [i["id"] for i in out])
    author_json: dict[str, dict] = {}
    result = []
    for item in out:
        data = dict(item)
        author_id = item["author_id"]
        if author_id not in author_json:
            author_json[author_id] = accounts.account_json(authors[author_id])
        data["author"] = author_json[author_id]
        data["media"] = _media(data.pop("media_ids"))
        data["liked"] = item["id"] in liked
        data["cursor"] = cursor_of(item)
        del data["author_id"], data["score"]
        if data["error"] is None:
            del data["error"]
        result.append(data)
    return result


def cursor_of(item: dict[str, Any]) -> str:
    """The post-derived feed cursor: the same for every viewer."""
    from app.pagination import encode_cursor

    return encode_cursor([item["score"], item["id"]])


def post_json(post: Post | str, viewer: Account | None = None) -> dict | None:
    """One post for one viewer, or None if the viewer may not see it."""
    result = posts_json([str(post.id if isinstance(post, Post) else post)], viewer)
    return result[0] if result else None
