"""The follow graph (and blocks and mutes): MongoDB documents mirrored in Redis.

This module reads the graph and keeps its mirrors and counts; following and blocking (and
what they move elsewhere) are ``follows``. Counts change with atomic ``$inc`` only when a
follow document is really created or deleted, so they stay exact under concurrent, repeated
follows and unfollows. Follower sets are mirrored in Redis for the fan-out, but only for
authors small enough to be fanned out; an author above ``FANOUT_MAX_FOLLOWERS`` joins
``big-authors`` and is pulled at read time.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app

from app.accounts import service as accounts
from app.accounts.models import Account
from app.extensions import redis_client
from feed import cache
from feed.models import Block, Follow


def follower_ids(author_id: object) -> list[str]:
    return [str(f.follower) for f in Follow.objects(followee=author_id).only("follower")]


def following_ids(account_id: object) -> set[str]:
    """Accounts this one follows (Redis, rebuilt from MongoDB when missing)."""
    return cache.set_members(
        cache.following_key(account_id),
        lambda: (str(f.followee) for f in Follow.objects(follower=account_id).only("followee")),
    )


def is_following(follower_id: object, followee_id: object) -> bool:
    return str(followee_id) in following_ids(follower_id)


def seen_by(account: Account, viewer: Account | None) -> Account | accounts.Seen:
    """``account`` as ``viewer`` sees it in a list or on its page: with ``following`` when
    another signed-in account looks."""
    if viewer is None or viewer.id == account.id:
        return account
    return accounts.Seen(account, following=is_following(viewer.id, account.id))


def is_big(author_id: object) -> bool:
    return bool(redis_client.sismember(cache.BIG_AUTHORS, str(author_id)))


def refresh_big(author: Account) -> None:
    """Keep ``big-authors`` in step with the follower count."""
    if author.followers_count > current_app.config["FANOUT_MAX_FOLLOWERS"]:
        redis_client.sadd(cache.BIG_AUTHORS, str(author.id))
        redis_client.delete(cache.followers_key(author.id))  # never fanned out: no mirror needed
    else:
        redis_client.srem(cache.BIG_AUTHORS, str(author.id))


def rebuild_big_authors() -> int:
    """After Redis was emptied: every author above the threshold, from MongoDB."""
    limit = current_app.config["FANOUT_MAX_FOLLOWERS"]
    ids = [str(a.id) for a in Account.objects(followers_count__gt=limit).only("id")]
    if ids:
        redis_client.sadd(cache.BIG_AUTHORS, *ids)
    return len(ids)


def _count(account_id: object, field: str, delta: int) -> Account:
    Account.objects(id=account_id).update_one(**{f"inc__{field}": delta})
    accounts.invalidate(account_id)
    return accounts.get(account_id)


def follow_moved(follower_id: object, followee_id: object, delta: int) -> Account:
    """A follow was made (1) or is gone (-1): both accounts' counts and the Redis mirrors
    follow; returns the followee."""
    followee = _count(followee_id, "followers_count", delta)
    _count(follower_id, "following_count", delta)
    mirror = cache.add_if_cached if delta > 0 else cache.remove_if_cached
    mirror(cache.following_key(follower_id), str(followee_id))
    mirror(cache.followers_key(followee_id), str(follower_id))
    return followee


_NOTIFY_SENTINEL = "-"  # an empty notify set still exists (see feed.cache)


def notify_key(author_id: object) -> str:
    return f"push-followers:{{{author_id}}}"


def set_follow_notify(follower_id: object, author_id: object, notify: bool) -> None:
    """Kept in MongoDB (the Follow) and mirrored in Redis for the post's push fan-out."""
    Follow.objects(follower=follower_id, followee=author_id).update_one(set__notify=notify)
    key = notify_key(author_id)
    if notify:
        if redis_client.exists(key):
            redis_client.sadd(key, str(follower_id))
    else:
        redis_client.srem(key, str(follower_id))


def notify_followers(author_id: object, batch: int) -> Iterator[list[str]]:
    """Batches of the followers who asked for this author's posts (rebuilt when missing)."""
    key = notify_key(author_id)
    if not redis_client.exists(key):
        ids = [str(f.follower) for f in Follow.objects(followee=author_id, notify=True)
               .only("follower")]
        redis_client.sadd(key, _NOTIFY_SENTINEL, *ids)
    chunk: list[str] = []
    for member in redis_client.sscan_iter(key, count=batch):
        if member != _NOTIFY_SENTINEL:
            chunk.append(member)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def drop_follow(follower_id: object, followee_id: object) -> None:
    """Remove a follow as part of a block (either direction)."""
    if Follow.objects(follower=follower_id, followee=followee_id).delete():
        follow_moved(follower_id, followee_id, -1)
        redis_client.srem(notify_key(followee_id), str(follower_id))


# --- blocks and mutes ------------------------------------------------------------------


def hidden_ids(account_id: object) -> set[str]:
    """Authors the account blocked or muted: they vanish from its feeds."""
    return cache.set_members(
        cache.hidden_key(account_id),
        lambda: (str(b.target) for b in Block.objects(account=account_id).only("target")),
    )


def blocked_by(account_id: object) -> set[str]:
    """Accounts that blocked this one: their posts are invisible to it."""
    return cache.set_members(
        cache.blocked_by_key(account_id),
        lambda: (str(b.account) for b in Block.objects(target=account_id, kind="block").only("account")),
    )
