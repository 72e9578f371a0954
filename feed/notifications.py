"""Notifications for follows, likes and comments, with an unread count.

The unread count lives in Redis (``unread:{account}``, rebuilt from MongoDB when missing) and
reaches the account live with every notification.
"""

from __future__ import annotations

from typing import Any

from app import live
from app.accounts import service as accounts
from app.accounts.models import Account
from app.extensions import redis_client
from app.pagination import newest_first
from app.times import as_utc, iso
from feed import graph
from feed.models import Notification, NotificationState


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


def notify(account_id: object, kind: str, actor: Account, post_id: object | None = None) -> None:
    if str(account_id) == str(actor.id) or str(actor.id) in graph.hidden_ids(account_id):
        return
    unread_count(account_id)  # make sure the counter exists before it moves
    Notification(account=account_id, type=kind, actor=actor.id, post_id=post_id).save()
    count = redis_client.incr(_unread_key(account_id))
    payload: dict[str, Any] = {"type": kind, "actor": accounts.account_json(actor),
                               "unread_count": count}
    if post_id:
        payload["post_id"] = str(post_id)
    live.emit("notification", payload, live.account_room(account_id))


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
        items.append({
            "id": str(n.id), "type": n.type, "actor": accounts.account_json(actor),
            "post_id": str(n.post_id) if n.post_id else None, "created_at": iso(n.created_at),
            "read": bool(read_up_to and as_utc(n.created_at) <= read_up_to),
        })
    return {"items": items, "next_cursor": next_cursor,
            "unread_count": unread_count(account.id)}


def mark_read(account: Account, up_to) -> None:
    NotificationState.objects(account=account.id).update_one(
        upsert=True, set__read_up_to=as_utc(up_to))
    redis_client.delete(_unread_key(account.id))
