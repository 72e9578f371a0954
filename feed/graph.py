"""The follow graph (and blocks and mutes): MongoDB documents mirrored in Redis.

Counts change with atomic ``$inc`` only when a follow document is really created or deleted,
so they stay exact under concurrent, repeated follows and unfollows. Follower sets are
mirrored in Redis for the fan-out, but only for authors small enough to be fanned out; an
author above ``FANOUT_MAX_FOLLOWERS`` joins ``big-authors`` and is pulled at read time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app
from mongoengine.errors import NotUniqueError

from app import signals
from app.accounts import service as accounts
from app.accounts.models import Account
from app.errors import ApiError
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


def _counts(account_id: object, field: str, delta: int) -> Account:
    Account.objects(id=account_id).update_one(**{f"inc__{field}": delta})
    accounts.invalidate(account_id)
    return accounts.get(account_id)


def follow(follower: Account, target_ref: str, notify: bool | None = None) -> dict:
    """Follow ``target_ref``; ``notify`` (when given) turns the push of its new posts to the
    follower's devices on or off (also on an existing follow)."""
    result = _follow(follower, target_ref)
    target = result.pop("target")
    if notify is not None:
        set_follow_notify(follower.id, target.id, notify)
    row = Follow.objects(follower=follower.id, followee=target.id).only("notify").first()
    result["notify"] = bool(row and row.notify)
    return result


def _follow(follower: Account, target_ref: str) -> dict:
    target = accounts.lookup(target_ref)
    if target.id == follower.id:
        raise ApiError(422, "cannot_follow_self", "you cannot follow yourself")
    if str(target.id) in blocked_by(follower.id):
        raise ApiError(403, "blocked", "this account has blocked you")
    try:
        Follow(follower=follower.id, followee=target.id).save(force_insert=True)
    except NotUniqueError:
        return {"following": True, "followers_count": accounts.get(target.id).followers_count,
                "target": target}
    target = _counts(target.id, "followers_count", 1)
    _counts(follower.id, "following_count", 1)
    cache.add_if_cached(cache.following_key(follower.id), str(target.id))
    cache.add_if_cached(cache.followers_key(target.id), str(follower.id))
    refresh_big(target)
    from feed import notifications, pagecache, timeline

    timeline.merge_author(follower.id, target.id)
    pagecache.viewer_changed(follower.id)
    _live_rooms(follower.id)
    notifications.notify(target.id, "follow", follower)
    signals.followed.send(follower, target=target)
    return {"following": True, "followers_count": target.followers_count, "target": target}


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


def unfollow(follower: Account, target_ref: str) -> dict:
    target = accounts.lookup(target_ref)
    deleted = Follow.objects(follower=follower.id, followee=target.id).delete()
    if deleted:
        target = _counts(target.id, "followers_count", -1)
        _counts(follower.id, "following_count", -1)
        cache.remove_if_cached(cache.following_key(follower.id), str(target.id))
        cache.remove_if_cached(cache.followers_key(target.id), str(follower.id))
        refresh_big(target)
        from feed import pagecache, timeline

        timeline.drop_author(follower.id, target.id)
        pagecache.viewer_changed(follower.id)
        _live_rooms(follower.id)
        signals.unfollowed.send(follower, target=target)
    redis_client.srem(notify_key(target.id), str(follower.id))
    return {"following": False, "followers_count": target.followers_count, "notify": False}


def _live_rooms(*account_ids: object) -> None:
    """Connected sockets of these accounts join or leave feed rooms (any web process)."""
    from app import live

    live.rooms_changed(*account_ids)


def drop_follow(follower_id: object, followee_id: object) -> None:
    """Remove a follow as part of a block (either direction)."""
    if Follow.objects(follower=follower_id, followee=followee_id).delete():
        _counts(followee_id, "followers_count", -1)
        _counts(follower_id, "following_count", -1)
        cache.remove_if_cached(cache.following_key(follower_id), str(followee_id))
        cache.remove_if_cached(cache.followers_key(followee_id), str(follower_id))
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


def set_block(account: Account, target_ref: str, kind: str, on: bool) -> dict:
    target = accounts.lookup(target_ref)
    if target.id == account.id:
        raise ApiError(422, f"cannot_{kind}_self", f"you cannot {kind} yourself")
    if on:
        with contextlib.suppress(NotUniqueError):  # already blocked: idempotent
            Block(account=account.id, target=target.id, kind=kind).save(force_insert=True)
        if kind == "block":
            drop_follow(target.id, account.id)
            drop_follow(account.id, target.id)
    else:
        Block.objects(account=account.id, target=target.id, kind=kind).delete()
    redis_client.delete(cache.hidden_key(account.id), cache.blocked_by_key(target.id))
    from feed import pagecache

    pagecache.viewer_changed(account.id, target.id)
    _live_rooms(account.id, target.id)
    return {"blocked" if kind == "block" else "muted": on, "account_id": str(target.id)}
