"""Notifications for follows, likes and comments, with an unread count.

The unread count lives in Redis (``unread:{account}``, rebuilt from MongoDB when missing) and
reaches the account live with every notification.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from app import live, signals
from app.accounts import service as accounts
from app.accounts.models import Account
from app.accounts.schemas import AccountSchema
from app.api import Shown
from app.extensions import redis_client
from app.pagination import decode_cursor, encode_cursor, id_part, newest_first
from app.times import as_utc
from feed import graph
from feed.models import Notification, NotificationState
from feed.schemas import NotificationGroupSchema, NotificationSchema

_one = NotificationSchema()
_groups = NotificationGroupSchema(many=True)


def _unread_key(account_id: object) -> str:
    return f"unread:{{{account_id}}}"


def _read_up_to(account_id: object):
    state = NotificationState.objects(account=account_id).first()
    return as_utc(state.read_up_to) if state and state.read_up_to else None


def unread_count(account_id: object) -> int:
    key = _unread_key(account_id)
    value = redis_client.get(key)
    if value is not None:
        return int(value)
    query = Notification.objects(account=account_id)
    read_up_to = _read_up_to(account_id)
    if read_up_to:
        query = query.filter(created_at__gt=read_up_to)
    count = query.count()
    redis_client.set(key, count, nx=True)
    return count


def notify(account_id: object, kind: str, actor: Account, post_id: object | None = None,
           comment_id: object | None = None) -> None:
    if str(account_id) == str(actor.id) or str(actor.id) in graph.hidden_ids(account_id):
        return
    unread_count(account_id)  # make sure the counter exists before it moves
    Notification(account=account_id, type=kind, actor=actor.id, post_id=post_id,
                 comment_id=comment_id).save()
    count = redis_client.incr(_unread_key(account_id))
    payload: dict[str, Any] = {"type": kind, "actor": AccountSchema().dump(actor),
                               "unread_count": count}
    if post_id:
        payload["post_id"] = str(post_id)
    if comment_id:
        payload["comment_id"] = str(comment_id)
    live.emit("notification", payload, live.account_room(account_id))
    signals.notified.send(str(account_id), payload=payload)


def page(account: Account, limit: int, cursor: str | None) -> dict:
    rows, next_cursor = newest_first(Notification.objects(account=account.id), limit, cursor)
    hidden = graph.hidden_ids(account.id)
    actors = accounts.get_many([n.actor for n in rows])
    read_up_to = _read_up_to(account.id)
    items = []
    for n in rows:
        actor = actors.get(str(n.actor))
        if actor is None or str(n.actor) in hidden:
            continue
        read = bool(read_up_to and as_utc(n.created_at) <= read_up_to)
        items.append(_one.dump(Shown(n, actor=actor, read=read)))
    return {"items": items, "next_cursor": next_cursor,
            "unread_count": unread_count(account.id)}


def grouped_page(account: Account, limit: int, cursor: str | None) -> dict:
    """Notifications grouped by type and post, newest group first ("小美 and 23 others liked
    your post"): ``{type, post_id, actors (the latest 3), actors_count, latest_at, read}``.

    A group is placed by its latest notification; the cursor is the id of the last group's
    latest one, and a later page skips the groups that had a newer notification (they were
    on an earlier page). Blocked and muted actors are left out.
    """
    last = decode_cursor(cursor, id_part)
    mine = Notification.objects(account=account.id)
    scan = mine.filter(id__lt=ObjectId(last)) if last else mine
    hidden = graph.hidden_ids(account.id)
    latest: dict[tuple, Notification] = {}
    seen: set[tuple] = set()
    for n in scan.order_by("-id").only("id", "type", "post_id", "actor", "created_at"):
        key = (n.type, n.post_id)
        if key in seen or str(n.actor) in hidden:
            continue
        seen.add(key)
        if last and mine.filter(type=n.type, post_id=n.post_id, id__gte=ObjectId(last)).first():
            continue  # this group was placed on an earlier page
        latest[key] = n
        if len(latest) > limit:
            break
    groups = list(latest.items())
    more = len(groups) > limit
    groups = groups[:limit]
    read_up_to = _read_up_to(account.id)
    items = _groups.dump([_group(mine, key, n, hidden, read_up_to) for key, n in groups])
    return {"items": items,
            "next_cursor": encode_cursor(str(groups[-1][1].id)) if more and groups else None,
            "unread_count": unread_count(account.id)}


def _group(mine: Any, key: tuple, newest: Notification, hidden: set[str],
           read_up_to: Any) -> dict:
    """One ``NotificationGroupSchema`` item."""
    kind, post_id = key
    rows = mine.filter(type=kind, post_id=post_id)
    actor_ids = [a for a in rows.distinct("actor") if str(a) not in hidden]
    recent: list[str] = []
    for n in rows.order_by("-id").only("actor"):
        if str(n.actor) not in hidden and str(n.actor) not in recent:
            recent.append(str(n.actor))
            if len(recent) == 3:
                break
    found = accounts.get_many(recent)
    return {
        "type": kind, "post_id": post_id, "actors": [found[a] for a in recent if a in found],
        "actors_count": len(actor_ids), "latest_at": newest.created_at,
        "read": bool(read_up_to and as_utc(newest.created_at) <= read_up_to),
    }


def mark_read(account: Account, up_to) -> None:
    NotificationState.objects(account=account.id).update_one(
        upsert=True, set__read_up_to=as_utc(up_to))
    redis_client.delete(_unread_key(account.id))
