"""What each viewer likes, learned as they act, for the for-you feed (``feed/rank.py``).

Per viewer (an account ``a:<id>``, or an anonymous app ``d:<X-Device-Id>``), in the viewer's
Redis Cluster slot:

- ``int:{who}:tags`` and ``int:{who}:authors``: sorted sets of raw decayed scores
  (``rank.learned``: weight times the growth factor of the moment), so reading them at any
  time is one division, and old tastes fade (``rank.INTEREST_HALF_LIFE``);
- ``int:{who}:seen``: the posts the viewer viewed (newest 1,000), which sink in the ranking.

Likes, comments, views and product clicks arrive through ``app.signals.post_engaged``,
follows through ``app.signals.followed``. Declared interests (``profile.interests``) are read
from the profile when ranking. Losing these keys loses learned taste only, which grows back.
"""

from __future__ import annotations

import time
from typing import Any

from app.accounts.models import Account
from app.extensions import redis_client
from feed import graph, rank
from feed.models import Post

KEEP_TAGS = 200
KEEP_AUTHORS = 500
KEEP_SEEN = 1000
TTL = 90 * 86400


def who_of(viewer: Account | None, device: str | None) -> str | None:
    if viewer is not None:
        return f"a:{viewer.id}"
    return f"d:{device}" if device else None


def _keys(who: str) -> tuple[str, str, str]:
    return f"int:{{{who}}}:tags", f"int:{{{who}}}:authors", f"int:{{{who}}}:seen"


def learn(who: str, action: str, tags: list[str], author: str | None,
          post_id: str | None = None, now: float | None = None) -> None:
    """One action of a viewer: its weight goes to the post's tags and author."""
    weight = rank.ACTION_WEIGHTS.get(action)
    if weight is None:
        return
    now = now or time.time()
    amount = rank.learned(weight, now)
    tags_key, authors_key, seen_key = _keys(who)
    pipe = redis_client.pipeline(transaction=False)
    if tags:
        share = amount / len(tags)
        for tag in tags:
            pipe.zincrby(tags_key, share, tag)
        pipe.zremrangebyrank(tags_key, 0, -(KEEP_TAGS + 1))
        pipe.expire(tags_key, TTL)
    if author:
        pipe.zincrby(authors_key, amount, author)
        pipe.zremrangebyrank(authors_key, 0, -(KEEP_AUTHORS + 1))
        pipe.expire(authors_key, TTL)
    if action == "viewed" and post_id:
        pipe.zadd(seen_key, {post_id: now})
        pipe.zremrangebyrank(seen_key, 0, -(KEEP_SEEN + 1))
        pipe.expire(seen_key, TTL)
    pipe.execute()


def taste(viewer: Account | None, who: str, now: float) -> rank.ViewerTaste:
    """The viewer's taste read now: learned tags and authors, declared interests, follows,
    seen posts and hidden (blocked or muted) authors."""
    tags_key, authors_key, seen_key = _keys(who)
    pipe = redis_client.pipeline(transaction=False)
    pipe.zrevrange(tags_key, 0, 49, withscores=True)
    pipe.zrevrange(authors_key, 0, 199, withscores=True)
    pipe.zrange(seen_key, 0, -1)
    tags, authors, seen = pipe.execute()
    factor = rank.growth(now)
    declared = []
    following: set[str] = set()
    hidden: set[str] = set()
    if viewer is not None:
        profile = getattr(viewer, "profile", None)
        declared = [i.lower() for i in (getattr(profile, "interests", None) or [])]
        following = graph.following_ids(viewer.id)
        hidden = graph.hidden_ids(viewer.id)
    return rank.ViewerTaste(
        tags=rank.with_declared({t: s / factor for t, s in tags}, declared, now),
        authors={a: s / factor for a, s in authors}, following=following, seen=set(seen),
        hidden=hidden, self_id=str(viewer.id) if viewer is not None else None)


# --- receivers ---------------------------------------------------------------------------


def on_post_engaged(post: Post, action: str, who: str | None = None, **_: Any) -> None:
    if who:
        learn(who, action, list(post.tags), str(post.author), str(post.id))


def on_followed(follower: Account, target: Account | None = None, **_: Any) -> None:
    """A follow teaches the author and the tags the author writes about."""
    if target is None:
        return
    recent = Post.objects(author=target.id, status="published").order_by("-created_at") \
        .only("tags").limit(20)
    tags = [tag for post in recent for tag in post.tags]
    top = sorted(set(tags), key=lambda t: -tags.count(t))[:5]
    learn(f"a:{follower.id}", "followed", top, str(target.id))
