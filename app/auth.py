"""Who is asking: bearer tokens (and, for pages, the session cookie) to an account.

The two never mix: a bearer token is never a page token (``is_page``), and the session
cookie counts only with a page token and never on ``/api``, so a read cookie gives nothing
the API accepts.

``g.account`` is resolved once per request by the resolver the app factory registers
(``use_resolver``): the accounts domain's ``for_token``, which reads the token's and the
account's Redis cache entries in one round trip. Suspended accounts' tokens stop working
at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from flask import g, request, session

from app.errors import ApiError

#: The start of a page session's token (``/login``): valid only from the session cookie.
PAGE_PREFIX = "page."


class Viewer(Protocol):
    """What this module needs of an account."""

    id: Any
    suspended: bool

    def has_role(self, role: str) -> bool: ...


Prefetch = Callable[[Any, str], None]
#: ``resolver(raw, prefetch)``: the account behind a raw token (or None) and the replies
#: of ``prefetch``'s reads (see ``auth_required``).
Resolver = Callable[[str, Prefetch | None], tuple[Viewer | None, list]]

_resolvers: list[Resolver] = []


def use_resolver(resolver: Resolver) -> None:
    """How a raw token becomes an account: the app factory registers the accounts domain's."""
    _resolvers[:] = [resolver]


def is_page(raw: str) -> bool:
    """True for a page session's token: valid only from the session cookie."""
    return raw.startswith(PAGE_PREFIX)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_token() -> str | None:
    """The page session's token from the cookie (pages and same-origin sockets only)."""
    raw = session.get("token")
    return raw if isinstance(raw, str) and is_page(raw) else None


def _live(raw: str, prefetch: Prefetch | None = None) -> tuple[Viewer | None, list]:
    if not _resolvers:
        raise RuntimeError("no token resolver: the app factory registers it (use_resolver)")
    account, replies = _resolvers[0](raw, prefetch)
    if account is None or account.suspended:
        return None, []
    return account, replies


def account_for_token(raw: str | None) -> Viewer | None:
    """The live account behind a raw token, or None (unknown, revoked, expired, suspended)."""
    return _live(raw)[0] if raw else None


def _resolve(prefetch: Prefetch | None = None) -> None:
    """Resolve the viewer once per request. Nothing is remembered until resolution succeeds:
    a Redis error on the way (seen first by the rate limiter's key) must not leave the
    request anonymous, which would answer a valid token with 401.

    ``prefetch`` queues the view's reads of the viewer's own keys into the token's round
    trip (see ``auth_required``); their replies are ``g.prefetched`` (empty if not read).
    """
    if "account" in g:
        return
    account, token, replies = None, None, []
    raw = bearer_token()
    if raw:
        account, replies = (None, []) if is_page(raw) else _live(raw, prefetch)
        if account is None:
            raise ApiError(401, "invalid_token", "the token is invalid, expired or revoked")
        token = raw
    elif not request.path.startswith("/api") and session_token():
        account = account_for_token(session_token())
        token = session_token() if account else None
    g.account, g.token, g.prefetched = account, token, replies


def current_account() -> Viewer | None:
    try:
        _resolve()
    except ApiError:
        return None
    return g.account


def auth_required(*roles: str, prefetch: Prefetch | None = None) -> Callable:
    """401 without a valid token; 403 without one of ``roles`` (admin has them all).

    ``prefetch(pipeline, account_id)`` queues reads the view needs of the viewer's own keys
    into the round trip that reads the token, so a warm read can be one round trip; the
    view finds the replies in ``g.prefetched`` (empty when they were not read).
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _resolve(prefetch)
            if g.account is None:
                raise ApiError(401, "unauthorized", "a valid bearer token is required")
            if roles and not any(g.account.has_role(role) for role in roles):
                raise ApiError(403, "forbidden", "your account lacks the role for this")
            return view(*args, **kwargs)

        _document(wrapper)
        return wrapper

    return decorator


def auth_optional(view: Callable) -> Callable:
    """The viewer if a token is sent; a bad token is still a 401."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        _resolve()
        return view(*args, **kwargs)

    _document(wrapper, optional=True)
    return wrapper


def _document(view: Callable, optional: bool = False) -> None:
    """Mark the route as needing (or, ``optional``, taking) a bearer token in the OpenAPI
    document (``{}`` in ``security`` is "no token")."""
    apidoc = getattr(view, "_apidoc", None)
    if apidoc is None:
        apidoc = view._apidoc = {}
    apidoc.setdefault("manual_doc", {})["security"] = \
        [{}, {"bearer": []}] if optional else [{"bearer": []}]
