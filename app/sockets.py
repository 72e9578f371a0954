"""The Socket.IO server: who a connection is, and which rooms it may join.

A connection authenticates with ``auth: {"token": ...}`` (or the page's session cookie);
a bad token is refused. Each signed-in connection joins its account's room. Redis keeps
``sockets:<account_id>`` (the account's connection ids) so suspension and revocation can
disconnect them from any process.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_socketio import join_room, leave_room

from app.auth import account_for_token
from app.extensions import redis_client, socketio
from app.live import account_room, post_room

MAX_ROOMS = 200


def _sockets_key(account_id: object) -> str:
    return f"sockets:{account_id}"


def disconnect_account(account_id: object) -> None:
    """Close every live connection of the account, whichever process holds it."""
    for sid in redis_client.smembers(_sockets_key(account_id)):
        socketio.server.disconnect(sid, namespace="/")
    redis_client.delete(_sockets_key(account_id))


def init_app(app: Flask) -> None:
    @socketio.on("connect")
    def on_connect(auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        token = token or session.get("token")
        request.environ["fanhub.account_id"] = None
        if not token:
            return True  # anonymous: public things only
        if not isinstance(token, str):
            raise ConnectionRefusedError("invalid token")
        account = account_for_token(token)
        if account is None:
            raise ConnectionRefusedError("invalid token")
        request.environ["fanhub.account_id"] = str(account.id)
        join_room(account_room(account.id))
        redis_client.sadd(_sockets_key(account.id), request.sid)
        return True

    @socketio.on("disconnect")
    def on_disconnect(*_args):
        account_id = request.environ.get("fanhub.account_id")
        if account_id:
            redis_client.srem(_sockets_key(account_id), request.sid)

    def _room_for(data) -> str | None:
        if not isinstance(data, dict):
            return None
        if isinstance(data.get("post_id"), str) and len(data["post_id"]) <= 40:
            return post_room(data["post_id"])
        if isinstance(data.get("account_id"), str) and len(data["account_id"]) <= 40:
            return f"page:{data['account_id']}"
        return None

    @socketio.on("subscribe")
    def on_subscribe(data=None):
        room = _room_for(data)
        if room is None:
            return {"ok": False, "error": "send {post_id} or {account_id}"}
        join_room(room)
        return {"ok": True}

    @socketio.on("unsubscribe")
    def on_unsubscribe(data=None):
        room = _room_for(data)
        if room is None:
            return {"ok": False, "error": "send {post_id} or {account_id}"}
        leave_room(room)
        return {"ok": True}
