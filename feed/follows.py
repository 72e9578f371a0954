"""Following, unfollowing, blocking and muting: the actions on the follow graph and what
each one moves along with it (the follower's timeline and kept pages, live rooms, a
``follow`` notification, the ``followed``/``unfollowed`` signals).
"""

from __future__ import annotations

import contextlib

from mongoengine.errors import NotUniqueError

from app import live, signals
from app.accounts import service as accounts
from app.accounts.models import Account
from app.errors import ApiError
from app.extensions import redis_client
from feed import cache, graph, notifications, stamps, timeline
from feed.models import Block, Follow


def follow(follower: Account, target_ref: str, notify: bool | None = None) -> dict:
    """Follow ``target_ref``; ``notify`` (when given) turns the push of its new posts to the
    follower's devices on or off (also on an existing follow)."""
    result = _follow(follower, target_ref)
    target = result.pop("target")
    if notify is not None:
        graph.set_follow_notify(follower.id, target.id, notify)
    row = Follow.objects(follower=follower.id, followee=target.id).only("notify").first()
    result["notify"] = bool(row and row.notify)
    return result


def _follow(follower: Account, target_ref: str) -> dict:
    target = accounts.lookup(target_ref)
    if target.id == follower.id:
        raise ApiError(422, "cannot_follow_self", "you cannot follow yourself")
    if str(target.id) in graph.blocked_by(follower.id):
        raise ApiError(403, "blocked", "this account has blocked you")
    try:
        Follow(follower=follower.id, followee=target.id).save(force_insert=True)
    except NotUniqueError:
        return {"following": True, "followers_count": accounts.get(target.id).followers_count,
                "target": target}
    target = graph.follow_moved(follower.id, target.id, 1)
    graph.refresh_big(target)
    timeline.merge_author(follower.id, target.id)
    stamps.viewer_changed(follower.id)
    _live_rooms(follower.id)
    notifications.notify(target.id, "follow", follower)
    signals.followed.send(follower, target=target)
    return {"following": True, "followers_count": target.followers_count, "target": target}


def unfollow(follower: Account, target_ref: str) -> dict:
    target = accounts.lookup(target_ref)
    deleted = Follow.objects(follower=follower.id, followee=target.id).delete()
    if deleted:
        target = graph.follow_moved(follower.id, target.id, -1)
        graph.refresh_big(target)
        timeline.drop_author(follower.id, target.id)
        stamps.viewer_changed(follower.id)
        _live_rooms(follower.id)
        signals.unfollowed.send(follower, target=target)
    redis_client.srem(graph.notify_key(target.id), str(follower.id))
    return {"following": False, "followers_count": target.followers_count, "notify": False}


def _live_rooms(*account_ids: object) -> None:
    """Connected sockets of these accounts join or leave feed rooms (any web process)."""
    live.rooms_changed(*account_ids)


def set_block(account: Account, target_ref: str, kind: str, on: bool) -> dict:
    target = accounts.lookup(target_ref)
    if target.id == account.id:
        raise ApiError(422, f"cannot_{kind}_self", f"you cannot {kind} yourself")
    if on:
        with contextlib.suppress(NotUniqueError):  # already blocked: idempotent
            Block(account=account.id, target=target.id, kind=kind).save(force_insert=True)
        if kind == "block":
            graph.drop_follow(target.id, account.id)
            graph.drop_follow(account.id, target.id)
    else:
        Block.objects(account=account.id, target=target.id, kind=kind).delete()
    redis_client.delete(cache.hidden_key(account.id), cache.blocked_by_key(target.id))
    stamps.viewer_changed(account.id, target.id)
    _live_rooms(account.id, target.id)
    return {"blocked" if kind == "block" else "muted": on, "account_id": str(target.id)}
