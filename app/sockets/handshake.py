"""Who a connection is: its credentials, read once, at the handshake.

A connection authenticates with ``auth: {"token": ...}`` from anywhere, or with the page's
session cookie from this site's own pages only: a connection whose ``Origin`` is another
site (a sibling subdomain too: SameSite does not stop those) is not signed in by the cookie
it carries, unless that origin is in ``SESSION_ALLOWED_ORIGINS``. A bad, revoked or suspended
token is refused (``connect_error``); no credentials is an anonymous connection that may
subscribe to public things only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request
from socketio.exceptions import ConnectionRefusedError as Refused

from app.accounts import tokens
from app.accounts.models import Account
from app.auth import account_for_token, is_page, session_token
from app.sockets.connections import Connection


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
    if not isinstance(token, str) or not token or len(token) > 200 or is_page(token):
        raise Refused("invalid_token")
    return token


def identify(auth: Any) -> tuple[Connection, Account | None]:
    """The new connection of the handshake in the request, and its viewer (None: anonymous);
    ``Refused`` for credentials that do not work."""
    token = _credentials(auth)
    conn = Connection(sid=request.sid)
    if token is None:
        return conn, None
    account = account_for_token(token)
    if account is None:
        raise Refused("invalid_token")
    conn.account_id, conn.token, conn.token_hash = str(account.id), token, tokens.hash_of(token)
    return conn, account
