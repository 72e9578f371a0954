"""The control channel's operations, applied to this process's connections.

Changes that concern a connection held by another process travel on the control channel
(app/live.py): follows and blocks rebuild rooms, revoked tokens and suspended accounts close
sockets, interest-targeted posts are matched against each local viewer's profile. Revoked
tokens are named by their hash (``app.accounts.tokens.hash_of``), which the registry indexes.
"""

from __future__ import annotations

from bson import ObjectId
from flask import Flask

from app import live
from app.accounts.models import Account
from app.extensions import socketio
from app.sockets.connections import NAMESPACE, close, registry
from app.sockets.recheck import revalidate_all
from app.sockets.rooms import resync, set_rooms
from feed import subscriptions


@live.on_control("resync")
def _on_resync(message: dict) -> None:
    for account_id in message.get("account_ids") or ():
        for conn in registry.of_account(str(account_id)):
            resync(conn)


@live.on_control("disconnect")
def _on_disconnect(message: dict) -> None:
    for conn in registry.of_account(str(message.get("account_id"))):
        close(conn)


@live.on_control("revoke")
def _on_revoke(message: dict) -> None:
    doomed = registry.of_tokens(set(message.get("hashes") or ()))
    if message.get("account_id"):
        keep = message.get("keep")
        doomed += [c for c in registry.of_account(message["account_id"]) if c.token_hash != keep]
    for conn in doomed:
        close(conn)


@live.on_control("emit_matching")
def _on_emit_matching(message: dict) -> None:
    rule, rooms = message.get("audience"), message.get("rooms") or []
    if not rooms:
        return
    for sid in _participants(rooms):
        conn = registry.get(sid)
        if conn is not None and subscriptions.matches(rule, conn.profile):
            _send(message, sid)


@live.on_control("emit_visible")
def _on_emit_visible(message: dict) -> None:
    """Send a post's event to the local subscribers who may see the post now; those who may
    not leave its room (``event`` None: only that)."""
    post_id = str(message.get("post_id") or "")
    if not ObjectId.is_valid(post_id):
        return
    room = live.post_room(post_id)
    sids = _participants(room)
    if not sids:
        return
    may_receive = subscriptions.post_receivers(post_id)
    for sid in sids:
        conn = registry.get(sid)
        if conn is None:
            continue
        if may_receive(conn.account_id):
            if message.get("event"):
                _send(message, sid)
            continue
        with conn.lock:
            conn.posts.pop(post_id, None)
            set_rooms(conn, conn.rooms - {room})


def _participants(rooms: str | list[str]) -> list[str]:
    """The sids of this process's connections in these rooms."""
    return [sid for sid, _eio in list(socketio.server.manager.get_participants(NAMESPACE, rooms))]


def _send(message: dict, sid: str) -> None:
    """The control message's event to one local connection (not through the queue)."""
    socketio.server.emit(message["event"], message["payload"], to=sid, namespace=NAMESPACE,
                         ignore_queue=True)


def listen(app: Flask) -> live.ControlListener:
    """Start this process's control listener; each time it resubscribes, every connection is
    checked again (a message may have been lost while Redis was away)."""
    return live.ControlListener(app, on_resubscribe=revalidate_all).start()


def on_account_changed(account: Account, **_kwargs) -> None:
    """A profile change can move the viewer to another segment: rebuild its rooms."""
    live.rooms_changed(account.id)
