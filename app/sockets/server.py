"""The Socket.IO server's handlers: connect, disconnect, the client's events, bad packets.

``init_app`` registers them on the app's ``socketio``. A connection's events are handled one
at a time and each spends from the connection's allowance; an unknown event, a bad payload
or a failing handler gets an error ack, never a crash. The control listener and the token
sweep start with the first connection of the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from socketio.exceptions import ConnectionRefusedError as Refused

from app import presence, signals
from app.extensions import socketio
from app.sockets import control, recheck
from app.sockets.connections import MAX_REFUSED, NAMESPACE, Connection, close, error, registry
from app.sockets.handshake import identify
from app.sockets.rooms import resync, subscribe, unsubscribe

log = logging.getLogger(__name__)

_background: dict[str, Any] = {}  # the control listener and the token sweep
_background_lock = threading.Lock()


def _start_background(app: Flask) -> None:
    """Start the control listener and the token sweep with the first connection (workers
    never need them)."""
    if "control" in _background:
        return
    with _background_lock:
        if "control" not in _background:
            _background["sweep"] = socketio.start_background_task(recheck.sweep, app)
            _background["control"] = control.listen(app)


def _connect(app: Flask, auth: Any) -> None:
    conn, account = identify(auth)
    _start_background(app)
    # registered before its rooms are computed: a follow made meanwhile reaches it either way
    registry.add(conn)
    if conn.token is not None:
        recheck.schedule(conn)
    resync(conn, account)


def _handle(action: Callable[[Connection, Any], dict], args: tuple) -> dict:
    """A client event of the request's connection, within its allowance."""
    conn = registry.get(request.sid)
    if conn is None:
        return error("not_connected")
    if not conn.allow_event():
        if conn.refused > MAX_REFUSED:
            close(conn)
        return error("rate_limited")
    if len(args) != 1:
        return error("invalid_payload")
    return action(conn, args[0])


def init_app(app: Flask) -> None:
    # Handle a connection's events one at a time on its own thread (no thread per event):
    # a flood is rate-limited where it arrives instead of spawning threads.
    socketio.server.async_handlers = False
    _guard_packets(socketio.server)
    signals.account_changed.connect(control.on_account_changed, weak=False)

    @socketio.on("connect")
    def on_connect(auth=None):
        if registry.get(request.sid) is not None:  # a client sent an event named "connect"
            return error("unknown_event")
        try:
            _connect(app, auth)
        except Refused:
            registry.remove(request.sid)
            raise
        except Exception:  # never let a failure accept the connection
            log.exception("live connect failed")
            registry.remove(request.sid)
            raise Refused("unavailable") from None
        conn = registry.get(request.sid)
        if conn is not None and conn.account_id:
            presence.connected(conn.account_id, request.sid)  # push skips it while here
        return True

    @socketio.on("disconnect")
    def on_disconnect(*_args):
        if socketio.server.manager.is_connected(request.sid, NAMESPACE):
            return error("unknown_event")  # an event named "disconnect", not a disconnect
        conn = registry.remove(request.sid)
        if conn is not None and conn.account_id:
            presence.disconnected(conn.account_id, request.sid)
        return None

    @socketio.on("subscribe")
    def on_subscribe(*args):
        return _handle(subscribe, args)

    @socketio.on("unsubscribe")
    def on_unsubscribe(*args):
        return _handle(unsubscribe, args)

    @socketio.on("*")
    def on_unknown(event, *args):
        return _handle(lambda conn, data: error("unknown_event"), (None,))

    @socketio.on_error_default
    def on_error(exc):  # a handler failed: the client gets an error ack, the server goes on
        log.error("live event failed: %r", exc, exc_info=exc)
        return error("server_error")


def _guard_packets(server: Any) -> None:
    """A packet Socket.IO cannot decode closes that client's connection (Engine.IO would log
    a traceback per bad packet and keep reading: a cheap way to flood the logs)."""
    decode = server.eio.handlers["message"]

    def guarded(eio_sid: str, data: Any) -> None:
        try:
            return decode(eio_sid, data)
        except Exception as exc:
            log.warning("closing live connection %s after a malformed packet (%s)",
                        eio_sid, type(exc).__name__)
            server.eio.disconnect(eio_sid)
            return None

    server.eio.on("message", guarded)

