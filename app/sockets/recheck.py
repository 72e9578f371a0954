"""The token re-check: a socket does not outlive its token.

Tokens expire while sockets stay open: each signed-in connection is due for a re-check of its
token when the token's cache entry expires (that entry never outlives the token). One sweep
task per process wakes every second and re-checks only the connections that are due (a heap
by due time, ``Registry.rechecks``), so thousands of idle connections cost nothing between
their re-checks; an expired (or meanwhile revoked) token gets the same disconnect as a
revocation. After the control channel was down, every connection is checked at once
(``revalidate_all``): a revocation notice may have been lost meanwhile.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from app.accounts import tokens
from app.auth import account_for_token
from app.extensions import socketio
from app.sockets.connections import Connection, close, registry
from app.sockets.rooms import resync

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0  # how often due token re-checks run: a socket outlives its token by ~1 s
RETRY_SECONDS = 5.0  # a re-check that failed (Redis away) is tried again after this


def schedule(conn: Connection) -> None:
    """Re-check the connection's token when its cache entry expires."""
    registry.schedule(conn, max(tokens.cached_for(conn.token), SWEEP_SECONDS))


def _recheck(conn: Connection) -> None:
    """The connection's token re-check is due: close it if the token expired (or was revoked
    without the notice reaching us), else schedule the next re-check."""
    if account_for_token(conn.token) is None:
        close(conn)
    else:
        schedule(conn)


def sweep(app: Flask) -> None:
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
    """Close the connection if its token was revoked meanwhile, else rebuild its rooms."""
    if conn.token and account_for_token(conn.token) is None:
        close(conn)
    else:
        resync(conn)


def revalidate_all(app: Flask) -> None:
    """After the control channel was down: close what was revoked meanwhile, resync the rest."""
    with app.app_context():
        for conn in registry.all():
            try:
                _revalidate(conn)
            except Exception:
                log.exception("revalidating live connection %s failed", conn.sid)
