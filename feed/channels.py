"""Channels: the newest influencer posts, headlines and videos, each a capped Redis list.

``ch:<name>`` is a sorted set of published post ids like a timeline, kept in step with
publishing and rebuilt from MongoDB when missing; reads share the timeline's reader.
"""

from __future__ import annotations

from typing import Any

from app.accounts.models import Account
from app.extensions import redis_client
from feed import cache, timeline
from feed.models import Post

CHANNELS = ("influencers", "headlines", "videos")
CHANNEL_MAX = 2000


def _key(name: str) -> str:
    return f"ch:{name}"


def channels_of(post: Post) -> list[str]:
    names = []
    if post.author_kind == "influencer" and post.kind in ("post", "video"):
        names.append("influencers")
    if post.kind == "headline":
        names.append("headlines")
    if post.kind == "video":
        names.append("videos")
    return names


def _query(name: str):
    query = Post.objects(status="published")
    if name == "influencers":
        return query.filter(author_kind="influencer", kind__in=["post", "video"])
    return query.filter(kind="headline" if name == "headlines" else "video")


def ensure(name: str) -> str:
    key = _key(name)
    if not redis_client.exists(key):
        posts = _query(name).order_by("-created_at").only("id", "created_at").limit(CHANNEL_MAX)
        redis_client.zadd(key, {cache.SENTINEL: 0,
                                **{str(p.id): cache.score(p.created_at) for p in posts}})
    return key


def on_post_saved(post: Post, **_: Any) -> None:
    """Receiver of ``post_saved``: published posts enter their channels, others leave."""
    for name in channels_of(post):
        key = _key(name)
        if post.status == "published":
            if redis_client.exists(key):
                redis_client.zadd(key, {str(post.id): cache.score(post.created_at)})
                redis_client.zremrangebyrank(key, 0, -(CHANNEL_MAX + 2))
        else:
            redis_client.zrem(key, str(post.id))


def on_post_deleted(post: Post, **_: Any) -> None:
    for name in channels_of(post):
        redis_client.zrem(_key(name), str(post.id))


def read(name: str, viewer: Account | None, limit: int, cursor: str | None) -> dict[str, Any]:
    page = timeline.read([ensure(name)], viewer, limit, cursor)
    page.pop("head_cursor", None)
    return page
