"""The Socket.IO server: who a connection is, and which rooms it is in.

A connection authenticates with ``auth: {"token": ...}`` from anywhere, or with the page's
session cookie from this site's own pages only: a connection whose ``Origin`` is another
site (a sibling subdomain too: SameSite does not stop those) is not signed in by the cookie
it carries, unless that origin is in ``SESSION_ALLOWED_ORIGINS``. A bad, revoked or suspended
token is refused (``connect_error``); no credentials is an anonymous connection that may
subscribe to public things only.

A connection is in rooms (named by app/live.py): its account's, the feed rooms of the authors
it follows, and those of the posts and pages it subscribed to. Which rooms, what it may
subscribe to and which subscribers may get a post's events is the feed's rule
(feed/subscriptions.py); this server applies it, and rebuilds a connection's rooms on every
connect, so a reconnecting client resumes them.

Each process keeps its own connections in a local registry (sid -> viewer, token, rooms).
Changes that concern a connection held by another process travel on the control channel
(app/live.py): follows and blocks rebuild rooms, revoked tokens and suspended accounts close
sockets, interest-targeted posts are matched against each local viewer's profile.

Tokens expire while sockets stay open: each signed-in connection is due for a re-check of its
token when the token's cache entry expires (that entry never outlives the token). One sweep
task per process wakes every second and re-checks only the connections that are due (a heap
by due time), so thousands of idle connections cost nothing between their re-checks; an
expired (or meanwhile revoked) token gets the same disconnect as a revocation.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bson import ObjectId
from flask import Flask, current_app, request
from socketio.exceptions import ConnectionRefusedError as Refused

from app import live, presence, signals
from app.accounts import tokens
from app.accounts.models import Account
from app.auth import account_for_token, session_token
from app.extensions import socketio
from feed import subscriptions

log = logging.getLogger(__name__)

NAMESPACE = "/"
MAX_SUBSCRIPTIONS = 100  # post and page subscriptions per connection
RATE_PER_SECOND = 20.0  # client events per connection, sustained
RATE_BURST = 60.0
MAX_REFUSED = 60  # rate-limited events in a row before the connection is closed
SWEEP_SECONDS = 1.0  # how often due token re-checks run: a socket outlives its token by ~1 s
RETRY_SECONDS = 5.0  # a re-check that failed (Redis away) is tried again after this


@dataclass
class Connection:
    """What this process knows about one of its connections."""

    sid: str
    account_id: str | None = None
    token: str | None = None
    token_hash: str | None = None
    profile: dict | None = None
    segment: str = "default"
    rooms: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)  # subscribed author ids
    posts: dict[str, str] = field(default_factory=dict)  # subscribed post id -> author id
    allowance: float = RATE_BURST
    checked_at: float = field(default_factory=time.monotonic)
    refused: int = 0
    recheck_at: float | None = None  # time.monotonic() when its token is checked again
    lock: threading.Lock = field(default_factory=threading.Lock)

    def allow_event(self) -> bool:
        """A token bucket: floods are refused, then the connection is closed."""
        now = time.monotonic()
        self.allowance = min(RATE_BURST, self.allowance + (now - self.checked_at) * RATE_PER_SECOND)
        self.checked_at = now
        if self.allowance < 1:
            self.refused += 1
            return False
        self.allowance -= 1
        self.refused = 0
        return True


class Registry:
    """This process's connections, by sid, by account and by token hash, and the token
    re-checks they are due for (a heap of (due time, sid))."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_sid: dict[str, Connection] = {}
        self.by_account: dict[str, set[str]] = {}
        self.by_token: dict[str, set[str]] = {}
        self.rechecks: list[tuple[float, str]] = []

    def add(self, conn: Connection) -> None:
        with self.lock:
            self.by_sid[conn.sid] = conn
            if conn.account_id:
                self.by_account.setdefault(conn.account_id, set()).add(conn.sid)
            if conn.token_hash:
                self.by_token.setdefault(conn.token_hash, set()).add(conn.sid)

    def remove(self, sid: str) -> Connection | None:
        with self.lock:
            conn = self.by_sid.pop(sid, None)
            if conn is None:
                return None
            for index, key in ((self.by_account, conn.account_id), (self.by_token, conn.token_hash)):
                if key and key in index:
                    index[key].discard(sid)
                    if not index[key]:
                        del index[key]
            if len(self.rechecks) > 2 * len(self.by_sid) + 1024:
                # entries of closed connections are skipped when due; dropped here so a
                # month-long token of a short connection does not hold memory for a month
                self.rechecks = [(c.recheck_at, c.sid) for c in self.by_sid.values()
                                 if c.recheck_at is not None]
                heapq.heapify(self.rechecks)
            return conn

    def schedule(self, conn: Connection, delay: float) -> None:
        """Re-check the connection's token in ``delay`` seconds."""
        with self.lock:
            if conn.sid not in self.by_sid:
                return
            conn.recheck_at = time.monotonic() + delay
            heapq.heappush(self.rechecks, (conn.recheck_at, conn.sid))

    def due(self, now: float) -> list[Connection]:
        """The connections whose token re-check is due (each returned once per schedule)."""
        found = []
        with self.lock:
            while self.rechecks and self.rechecks[0][0] <= now:
                at, sid = heapq.heappop(self.rechecks)
                conn = self.by_sid.get(sid)
                if conn is not None and conn.recheck_at == at:
                    conn.recheck_at = None
                    found.append(conn)
        return found

    def get(self, sid: str) -> Connection | None:
        return self.by_sid.get(sid)

    def of_account(self, account_id: str) -> list[Connection]:
        with self.lock:
            return [self.by_sid[s] for s in self.by_account.get(account_id, ()) if s in self.by_sid]

    def of_tokens(self, hashes: set[str]) -> list[Connection]:
        with self.lock:
            sids = {s for h in hashes for s in self.by_token.get(h, ())}
            return [self.by_sid[s] for s in sids if s in self.by_sid]

    def all(self) -> list[Connection]:
        with self.lock:
            return list(self.by_sid.values())


registry = Registry()
_listener: dict[str, Any] = {}  # the control listener and the token sweep
_listener_lock = threading.Lock()


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- rooms ---------------------------------------------------------------------------------


def _close(conn: Connection) -> None:
    socketio.server.disconnect(conn.sid, namespace=NAMESPACE, ignore_queue=True)


def _set_rooms(conn: Connection, wanted: set[str]) -> None:
    server = socketio.server
    for room in wanted - conn.rooms:
        server.enter_room(conn.sid, room, namespace=NAMESPACE)
    for room in conn.rooms - wanted:
        server.leave_room(conn.sid, room, namespace=NAMESPACE)
    conn.rooms = wanted


def _resync(conn: Connection, account: Account | None = None) -> None:
    """Rebuild the connection's rooms from the viewer's current follows, blocks and profile."""
    with conn.lock:
        if conn.account_id:
            account = account or subscriptions.viewer(conn.account_id)
            if account is None or account.suspended:
                _close(conn)
                return
        found = subscriptions.membership(account, conn.pages, conn.posts)
        conn.profile, conn.segment = found.profile, found.segment
        conn.pages, conn.posts = found.pages, found.posts
        _set_rooms(conn, found.rooms)


def _recheck(conn: Connection) -> None:
    """The connection's token re-check is due: close it if the token expired (or was revoked
    without the notice reaching us), else schedule the next re-check."""
    if account_for_token(conn.token) is None:
        _close(conn)
    else:
        registry.schedule(conn, max(tokens.cached_for(conn.token), SWEEP_SECONDS))


def _sweep(app: Flask) -> None:
    """Re-check the tokens that are due, forever (a thread, or a greenlet under gevent)."""
    while True:
        socketio.sleep(SWEEP_SECONDS)
        try:
            with app.app_context():
                for conn in registry.due(time.monotonic()):
                    try:
                        _recheck(conn)
                    except Exception:  # Redis away: keep the socket, try again shortly
                        log.warning("re-checking the token of live connection %s failed",
                                    conn.sid, exc_info=True)
                        registry.schedule(conn, RETRY_SECONDS)
        except Exception:  # the sweep must outlive any one failure
            log.exception("live token sweep failed")


def _revalidate(conn: Connection) -> None:
    """After the control channel was down: close what was revoked meanwhile, resync the rest."""
    if conn.token and account_for_token(conn.token) is None:
        _close(conn)
    else:
        _resync(conn)


# --- subscriptions -------------------------------------------------------------------------


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


def _error(code: str) -> dict:
    return {"ok": False, "error": code}


def subscribe(conn: Connection, data: Any) -> dict:
    """Join a post's or an account page's room if the viewer may see it. Checked and joined
    under the connection's lock, so a block arriving meanwhile cannot be overtaken."""
    target = _target(data)
    if target is None:
        return _error("invalid_payload")
    kind, ident = target
    with conn.lock:
        known = ident in conn.posts if kind == "post_id" else ident in conn.pages
        if not known and len(conn.posts) + len(conn.pages) >= MAX_SUBSCRIPTIONS:
            return _error("too_many_subscriptions")
        if kind == "post_id":
            author = subscriptions.post_author_if_visible(conn.account_id, ident)
            if author is None:
                return _error("not_found")
            conn.posts[ident] = author
            room = live.post_room(ident)
        else:
            if not subscriptions.may_follow_page(conn.account_id, ident):
                return _error("not_found")
            conn.pages.add(ident)
            room = live.page_room(ident, conn.segment)
        _set_rooms(conn, conn.rooms | {room})
    return {"ok": True}


def unsubscribe(conn: Connection, data: Any) -> dict:
    target = _target(data)
    if target is None:
        return _error("invalid_payload")
    kind, ident = target
    with conn.lock:
        if kind == "post_id":
            conn.posts.pop(ident, None)
            room = live.post_room(ident)
        else:
            conn.pages.discard(ident)
            room = live.page_room(ident, conn.segment)
        _set_rooms(conn, conn.rooms - {room})
    return {"ok": True}


# --- control messages (from any process, applied to this process's connections) ----------


@live.on_control("resync")
def _on_resync(message: dict) -> None:
    for account_id in message.get("account_ids") or ():
        for conn in registry.of_account(str(account_id)):
            _resync(conn)


@live.on_control("disconnect")
def _on_disconnect(message: dict) -> None:
    for conn in registry.of_account(str(message.get("account_id"))):
        _close(conn)


@live.on_control("revoke")
def _on_revoke(message: dict) -> None:
    doomed = registry.of_tokens(set(message.get("hashes") or ()))
    if message.get("account_id"):
        keep = message.get("keep")
        doomed += [c for c in registry.of_account(message["account_id"]) if c.token_hash != keep]
    for conn in doomed:
        _close(conn)


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
            _set_rooms(conn, conn.rooms - {room})


def _participants(rooms: str | list[str]) -> list[str]:
    """The sids of this process's connections in these rooms."""
    return [sid for sid, _eio in list(socketio.server.manager.get_participants(NAMESPACE, rooms))]


def _send(message: dict, sid: str) -> None:
    """The control message's event to one local connection (not through the queue)."""
    socketio.server.emit(message["event"], message["payload"], to=sid, namespace=NAMESPACE,
                         ignore_queue=True)


def _ensure_listener(app: Flask) -> None:
    """Start the control listener and the token sweep with the first connection (workers
    never need them)."""
    if "control" in _listener:
        return
    with _listener_lock:
        if "control" not in _listener:
            _listener["sweep"] = socketio.start_background_task(_sweep, app)
            listener = live.ControlListener(app, on_resubscribe=_revalidate_all)
            _listener["control"] = listener.start()


def _revalidate_all(app: Flask) -> None:
    with app.app_context():
        for conn in registry.all():
            try:
                _revalidate(conn)
            except Exception:
                log.exception("revalidating live connection %s failed", conn.sid)


# --- the Socket.IO handlers -----------------------------------------------------------------


def _same_site() -> bool:
    """Whether the handshake comes from this site's own pages (or an allowed origin).

    Browsers send ``Origin`` on every cross-origin request and on websocket handshakes; a
    request without one is not a browser acting for another site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin in current_app.config["SESSION_ALLOWED_ORIGINS"]:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()


def _credentials(auth: Any) -> str | None:
    """The bearer token from the ``auth`` payload, else the page token from the session
    cookie when the page is this site's own."""
    if auth is not None and not isinstance(auth, dict):
        raise Refused("invalid_auth")
    token = (auth or {}).get("token")
    if token is None:
        return session_token() if _same_site() else None
    if not isinstance(token, str) or not token or len(token) > 200 or tokens.is_page(token):
        raise Refused("invalid_token")
    return token


def _connect(app: Flask, auth: Any) -> None:
    token = _credentials(auth)
    conn = Connection(sid=request.sid)
    account = None
    if token is not None:
        account = account_for_token(token)
        if account is None:
            raise Refused("invalid_token")
        conn.account_id, conn.token, conn.token_hash = str(account.id), token, token_hash(token)
    _ensure_listener(app)
    # registered before its rooms are computed: a follow made meanwhile reaches it either way
    registry.add(conn)
    if token is not None:
        registry.schedule(conn, max(tokens.cached_for(token), SWEEP_SECONDS))
    _resync(conn, account)


def init_app(app: Flask) -> None:
    # Handle a connection's events one at a time on its own thread (no thread per event):
    # a flood is rate-limited where it arrives instead of spawning threads.
    socketio.server.async_handlers = False
    _guard_packets(socketio.server)
    signals.account_changed.connect(_on_account_changed, weak=False)

    @socketio.on("connect")
    def on_connect(auth=None):
        if registry.get(request.sid) is not None:  # a client sent an event named "connect"
            return _error("unknown_event")
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
            return _error("unknown_event")  # an event named "disconnect", not a disconnect
        conn = registry.remove(request.sid)
        if conn is not None and conn.account_id:
            presence.disconnected(conn.account_id, request.sid)
        return None

    def _handle(action, args: tuple) -> dict:
        conn = registry.get(request.sid)
        if conn is None:
            return _error("not_connected")
        if not conn.allow_event():
            if conn.refused > MAX_REFUSED:
                _close(conn)
            return _error("rate_limited")
        if len(args) != 1:
            return _error("invalid_payload")
        return action(conn, args[0])

    @socketio.on("subscribe")
    def on_subscribe(*args):
        return _handle(subscribe, args)

    @socketio.on("unsubscribe")
    def on_unsubscribe(*args):
        return _handle(unsubscribe, args)

    @socketio.on("*")
    def on_unknown(event, *args):
        return _handle(lambda conn, data: _error("unknown_event"), (None,))

    @socketio.on_error_default
    def on_error(exc):  # a handler failed: the client gets an error ack, the server goes on
        log.error("live event failed: %r", exc, exc_info=exc)
        return _error("server_error")


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


def _on_account_changed(account: Account, **_kwargs) -> None:
    """A profile change can move the viewer to another segment: rebuild its rooms."""
    live.rooms_changed(account.id)
