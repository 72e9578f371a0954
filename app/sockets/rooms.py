"""Which rooms a connection is in, kept in step with the viewer.

A connection is in rooms (named by app/live.py): its account's, the feed rooms of the authors
it follows, and those of the posts and pages it subscribed to. Which rooms, what it may
subscribe to and which subscribers may get a post's events is the feed's rule
(feed/subscriptions.py); this module applies it, and rebuilds a connection's rooms on every
connect, so a reconnecting client resumes them.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from app import live
from app.accounts.models import Account
from app.extensions import socketio
from app.sockets.connections import NAMESPACE, Connection, close, error
from feed import subscriptions

MAX_SUBSCRIPTIONS = 100  # post and page subscriptions per connection


def set_rooms(conn: Connection, wanted: set[str]) -> None:
    """Enter and leave rooms so that the connection is in exactly ``wanted``."""
    server = socketio.server
    for room in wanted - conn.rooms:
        server.enter_room(conn.sid, room, namespace=NAMESPACE)
    for room in conn.rooms - wanted:
        server.leave_room(conn.sid, room, namespace=NAMESPACE)
    conn.rooms = wanted


def resync(conn: Connection, account: Account | None = None) -> None:
    """Rebuild the connection's rooms from the viewer's current follows, blocks and profile."""
    with conn.lock:
        if conn.account_id:
            account = account or subscriptions.viewer(conn.account_id)
            if account is None or account.suspended:
                close(conn)
                return
        found = subscriptions.membership(account, conn.pages, conn.posts)
        conn.profile, conn.segment = found.profile, found.segment
        conn.pages, conn.posts = found.pages, found.posts
        set_rooms(conn, found.rooms)


def _target(data: Any) -> tuple[str, str] | None:
    """``{post_id}`` or ``{account_id}``: an ObjectId string, and nothing else."""
    if not isinstance(data, dict) or len(data) != 1:
        return None
    kind, value = next(iter(data.items()))
    if kind not in ("post_id", "account_id") or not isinstance(value, str):
        return None
    if len(value) != 24 or not ObjectId.is_valid(value):
        return None
    return kind, value


def subscribe(conn: Connection, data: Any) -> dict:
    """Join a post's or an account page's room if the viewer may see it. Checked and joined
    under the connection's lock, so a block arriving meanwhile cannot be overtaken."""
    target = _target(data)
    if target is None:
        return error("invalid_payload")
    kind, ident = target
    with conn.lock:
        known = ident in conn.posts if kind == "post_id" else ident in conn.pages
        if not known and len(conn.posts) + len(conn.pages) >= MAX_SUBSCRIPTIONS:
            return error("too_many_subscriptions")
        if kind == "post_id":
            author = subscriptions.post_author_if_visible(conn.account_id, ident)
            if author is None:
                return error("not_found")
            conn.posts[ident] = author
            room = live.post_room(ident)
        else:
            if not subscriptions.may_follow_page(conn.account_id, ident):
                return error("not_found")
            conn.pages.add(ident)
            room = live.page_room(ident, conn.segment)
        set_rooms(conn, conn.rooms | {room})
    return {"ok": True}


def unsubscribe(conn: Connection, data: Any) -> dict:
    """Leave a post's or an account page's room."""
    target = _target(data)
    if target is None:
        return error("invalid_payload")
    kind, ident = target
    with conn.lock:
        if kind == "post_id":
            conn.posts.pop(ident, None)
            room = live.post_room(ident)
        else:
            conn.pages.discard(ident)
            room = live.page_room(ident, conn.segment)
        set_rooms(conn, conn.rooms - {room})
    return {"ok": True}
