"""Live events: one way to emit from web and worker processes, and a control channel.

Events go through Flask-SocketIO, initialized with the Redis message queue, so an emit from
any process reaches clients connected to any web process. Every room is named here:
``account:<id>`` (every connection of an account), ``post:<id>`` (post subscribers),
``feed:<author>:<segment>`` (followers of an author in a segment) and
``page:<author>:<segment>`` (subscribers of an author's page in a segment); which
connections are in which is the feed's rule (feed/subscriptions.py).

Socket.IO's own queue can only address connections by id or room. Some changes need the
process that holds a connection to act on it: a follow changes which rooms a connection is
in, a revoked token must close exactly the sockets opened with it, an interest-targeted post
must be checked against each viewer's profile. Those go over a second Redis channel
(``CONTROL_CHANNEL``) as small JSON messages; each web process runs one listener thread that
resubscribes after Redis restarts, and applies what concerns its own connections (the
handlers are registered by app/sockets/control.py). A message is applied at once in the
process that sends it and ignored when it comes back from Redis.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.extensions import queue_client, socketio

log = logging.getLogger(__name__)

CONTROL_CHANNEL = "live-control"
_origin: dict[str, object] = {"pid": None, "id": ""}

_handlers: dict[str, Callable[[dict], None]] = {}


def account_room(account_id: object) -> str:
    return f"account:{account_id}"


def post_room(post_id: object) -> str:
    return f"post:{post_id}"


def feed_room(author_id: object, segment: str) -> str:
    return f"feed:{author_id}:{segment}"


def page_room(author_id: object, segment: str) -> str:
    return f"page:{author_id}:{segment}"


def emit(event: str, payload: dict[str, Any], room: str | list[str]) -> None:
    """Emit to a room (or to several: a connection in more than one gets it once)."""
    socketio.emit(event, payload, to=room)


def emit_matching(event: str, payload: dict[str, Any], rooms: list[str],
                  audience: dict[str, Any]) -> None:
    """Emit to the connections in ``rooms`` whose viewer profile matches ``audience``.

    For audience rules that rooms cannot express (interests): each web process checks its
    own connections, so the post still crosses Redis once, not once per viewer.
    """
    control("emit_matching", event=event, payload=payload, rooms=rooms, audience=audience)


def emit_visible(event: str, payload: dict[str, Any], post_id: str) -> None:
    """Emit to the subscribers of a post who may see it now: each web process checks its
    own subscribers against the feed's visibility rule (the post crosses Redis once)."""
    control("emit_visible", event=event, payload=payload, post_id=str(post_id))


def recheck_post(post_id: str) -> None:
    """The post changed: subscribers who may no longer see it leave its room."""
    control("emit_visible", event=None, payload=None, post_id=str(post_id))


def disconnect_account(account_id: object) -> None:
    """Close every live connection of the account, whichever process holds it."""
    control("disconnect", account_id=str(account_id))


def tokens_revoked(token_hashes: Iterable[str] = (), account_id: object | None = None,
                   keep_hash: str | None = None) -> None:
    """Close the sockets opened with these tokens (or with any token of the account but
    ``keep_hash``): a revoked token must not keep a live connection."""
    control("revoke", hashes=sorted(token_hashes),
            account_id=str(account_id) if account_id else None, keep=keep_hash)


def rooms_changed(*account_ids: object) -> None:
    """The accounts' follows, blocks, mutes or profile changed: rebuild their rooms."""
    control("resync", account_ids=[str(a) for a in account_ids])


# --- the control channel ------------------------------------------------------------------


def on_control(op: str) -> Callable[[Callable[[dict], None]], Callable[[dict], None]]:
    """Register the local handler of a control operation (app/sockets/control.py does)."""

    def register(handler: Callable[[dict], None]) -> Callable[[dict], None]:
        _handlers[op] = handler
        return handler

    return register


def origin() -> str:
    """This process's id on the control channel (new after a fork), to skip its own echoes."""
    if _origin["pid"] != os.getpid():
        _origin.update(pid=os.getpid(), id=uuid.uuid4().hex)
    return str(_origin["id"])


def control(op: str, **fields: Any) -> None:
    """Apply ``op`` here at once, and in every other process through Redis."""
    message = {"op": op, "origin": origin(), **fields}
    _apply(message)
    try:
        queue_client.publish(CONTROL_CHANNEL, json.dumps(message, ensure_ascii=False))
    except redis.RedisError:
        log.exception("live control message %s not published", op)


def _apply(message: dict) -> None:
    handler = _handlers.get(message.get("op"))
    if handler is None:
        return
    try:
        handler(message)
    except Exception:  # one bad message must not stop the listener
        log.exception("live control message %s failed", message.get("op"))


class ControlListener:
    """One thread per web process: subscribe, apply, and resubscribe after Redis drops.

    Pub/sub delivers at most once, so after a resubscription ``on_resubscribe`` lets the
    owner re-check what a lost message could have changed (revoked tokens, follows).
    """

    RETRY_MAX_SECONDS = 2.0

    def __init__(self, app: Flask, on_resubscribe: Callable[[Flask], None] | None = None) -> None:
        self.app = app
        self.on_resubscribe = on_resubscribe
        self.subscriptions = 0
        self.delay = 0.1
        self.subscribed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="live-control", daemon=True)

    def start(self, wait: float = 5.0) -> ControlListener:
        self.thread.start()
        self.subscribed.wait(wait)
        return self

    def _run(self) -> None:
        while True:
            try:
                self._listen()
            except Exception as exc:  # Redis restarted or unreachable: subscribe again
                self.subscribed.clear()
                log.warning("live control channel lost (%s); resubscribing in %.1fs", exc,
                            self.delay)
                time.sleep(self.delay)
                self.delay = min(self.delay * 2, self.RETRY_MAX_SECONDS)

    def _listen(self) -> None:
        client = redis.Redis.from_url(self.app.config["SOCKETIO_MESSAGE_QUEUE"], decode_responses=True,
                                      socket_connect_timeout=2, socket_keepalive=True,
                                      health_check_interval=10,
                                      retry=Retry(NoBackoff(), 0))  # errors reach _run
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CONTROL_CHANNEL)
            self.subscribed.set()
            self.subscriptions += 1
            self.delay = 0.1
            if self.subscriptions > 1 and self.on_resubscribe is not None:
                # messages sent while we were away are lost: let the owner re-check its state
                self.on_resubscribe(self.app)
            while True:
                message = pubsub.get_message(timeout=5.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    data = json.loads(message["data"])
                except (TypeError, ValueError):
                    continue
                if not isinstance(data, dict) or data.get("origin") == origin():
                    continue
                with self.app.app_context():
                    _apply(data)
        finally:
            pubsub.close()
            client.close()
