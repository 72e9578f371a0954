"""This process's connections: what it knows of each, and how it finds them.

Each process keeps its own connections in a local registry (sid -> viewer, token, rooms), by
account and by token hash, so a change that concerns a connection (a follow, a revoked token,
a suspended account) finds it without asking Socket.IO. Each connection has its own
allowance of client events: a flood is refused where it arrives, then the connection closes.
"""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, field

from app.extensions import socketio

NAMESPACE = "/"
RATE_PER_SECOND = 20.0  # client events per connection, sustained
RATE_BURST = 60.0
MAX_REFUSED = 60  # rate-limited events in a row before the connection is closed


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


def close(conn: Connection) -> None:
    """Disconnect one of this process's connections (not through the queue)."""
    socketio.server.disconnect(conn.sid, namespace=NAMESPACE, ignore_queue=True)


def error(code: str) -> dict:
    """The acknowledgement of a client event that was not done."""
    return {"ok": False, "error": code}
