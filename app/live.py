"""Emitting live events: one function for web and worker processes alike.

Flask-SocketIO is initialized with the Redis message queue, so an emit from any process
reaches clients connected to any web process.
"""

from __future__ import annotations

from typing import Any

from app.extensions import socketio


def account_room(account_id: object) -> str:
    return f"account:{account_id}"


def post_room(post_id: object) -> str:
    return f"post:{post_id}"


def emit(event: str, payload: dict[str, Any], room: str) -> None:
    socketio.emit(event, payload, to=room)


def disconnect_account(account_id: object) -> None:
    from app.sockets import disconnect_account as disconnect

    disconnect(account_id)
