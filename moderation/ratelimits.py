"""Rate limits per route group, on Flask-Limiter with Redis storage.

Other packages put ``@limit("post")`` (etc.) on their views, right under the route decorator::

    @bp.post("/posts")
    @limit("post")
    @auth_required()
    ...

One counter per group and client is shared by every view in the group (creating a post and
a headline draw from the same allowance). The client is the signed-in account, else the
address. Accounts younger than a day get the stricter ``*_NEW`` limits: fresh accounts are
what spammers and report brigades use. ``login`` also counts per target username, so a
password guesser rotating addresses is still stopped. Moderators and admins are exempt from
the content groups.

Every limit is a Flask-Limiter string (``"10/minute;100/hour"``), the setting
``RATELIMIT_<GROUP>`` (defaults in ``app/config.py``). ``RATELIMIT_SCALE``
multiplies every amount (a test suite that is not about limits sets it high). A breach is a
429 in the contract's error shape with ``Retry-After`` (``app.errors`` and the limiter's
header injection).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, request

from app.config import RATE_LIMITS
from app.extensions import limiter
from app.times import as_utc, utcnow

GROUPS = ("register", "login", "post", "comment", "upload", "follow", "report")
_STAFF_EXEMPT = ("post", "comment", "upload", "follow", "report")
NEW_ACCOUNT_AGE = timedelta(days=1)
_AMOUNT = re.compile(r"^\s*(\d+)")


def _setting(name: str) -> str:
    return str(current_app.config.get(f"RATELIMIT_{name}") or RATE_LIMITS[name])


def _scaled(value: str) -> str:
    scale = float(current_app.config["RATELIMIT_SCALE"])
    if scale == 1:
        return value
    parts = []
    for part in value.split(";"):
        parts.append(_AMOUNT.sub(lambda m: str(max(1, int(int(m.group(1)) * scale))), part))
    return ";".join(parts)


def _viewer():
    from app.auth import current_account

    return current_account()


def is_new_account(account) -> bool:
    created = getattr(account, "created_at", None)
    return created is not None and utcnow() - as_utc(created) < NEW_ACCOUNT_AGE


def limit_for(group: str) -> str:
    """The limit string that applies to the current request in ``group``."""
    name = group.upper()
    if f"{name}_NEW" in RATE_LIMITS and is_new_account(_viewer()):
        name = f"{name}_NEW"
    return _scaled(_setting(name))


def _staff() -> bool:
    account = _viewer()
    return account is not None and account.has_role("moderator")


def _login_username() -> str:
    try:
        data = request.get_json(silent=True, cache=True)
    except RecursionError:  # hostile nesting: the view answers 400
        data = None
    username = data.get("username") if isinstance(data, dict) else None
    if not username:
        return f"ip:{request.remote_addr}"
    # a lone surrogate cannot go to Redis as UTF-8: escape it (the view then answers 400)
    name = str(username).casefold()[:100].encode("utf-8", "backslashreplace").decode()
    return f"user:{name}"


def limit(group: str) -> Callable:
    """A decorator that puts the view in ``group``'s shared limit."""
    if group not in GROUPS:
        raise ValueError(f"unknown rate-limit group {group!r}; one of {GROUPS}")
    exempt = _staff if group in _STAFF_EXEMPT else None
    decorator = limiter.shared_limit(lambda: limit_for(group), scope=f"rl-{group}",
                                      exempt_when=exempt)
    if group != "login":
        return decorator
    per_user = limiter.shared_limit(lambda: _scaled(_setting("LOGIN_USER")),
                                    scope="rl-login-user", key_func=_login_username)

    def both(view: Callable) -> Callable:
        return decorator(per_user(view))

    return both
