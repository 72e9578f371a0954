"""Rate limits per route group, on Flask-Limiter with Redis storage.

Other packages put ``@limit("post")`` (etc.) on their views, right under the route decorator::

    @bp.post("/posts")
    @limit("post")
    @auth_required()
    ...

One counter per group and client is shared by every view in the group (creating a post and
a headline draw from the same allowance). The client is the signed-in account, else the
address. Accounts younger than a day get the stricter ``*_NEW`` limits: fresh accounts are
what spammers and report brigades use. Moderators and admins are exempt from the content
groups. Every other write under ``/api`` (POST, PUT, PATCH, DELETE) draws from the ``write``
group (``default_limits``); reads are not limited.

Signing in (the API's ``/auth/token`` and the ``/login`` page, in the same buckets) is slowed
without letting a stranger lock the owner out: every attempt counts per address (``LOGIN``);
failed attempts count per username and address together (``LOGIN_USER_ADDRESS``), and per
username alone (``LOGIN_USER``, higher, for a guesser rotating addresses), but that last limit
does not apply from an address the account signed in from within ``LOGIN_KNOWN_ADDRESS_DAYS``,
so the owner still gets in from their usual address while someone else guesses. The address
is the client's own behind ``TRUSTED_PROXIES`` proxies (``app/factory.py``).

Anonymous views (``view``) count per address and post, and only the views that brought a new
device id (the view sets ``g.new_device_view``): repeats of a device already counted and
signed-in viewers never use the allowance up, but one client inventing an ``X-Device-Id`` per
request stops adding to ``view_count``.

Every limit is a Flask-Limiter string (``"10/minute;100/hour"``), the setting
``RATELIMIT_<GROUP>`` (defaults in ``app/config.py``). ``RATELIMIT_SCALE``
multiplies every amount (a test suite that is not about limits sets it high). A breach is a
429 in the contract's error shape with ``Retry-After`` (``app.errors`` and the limiter's
header injection).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, g, request
from flask_limiter import Limit, Limiter

from app.auth import current_account
from app.config import RATE_LIMITS
from app.extensions import redis_client
from app.times import as_utc, utcnow

GROUPS = ("register", "login", "post", "comment", "upload", "follow", "report", "write",
          "view")
_STAFF_EXEMPT = ("post", "comment", "upload", "follow", "report", "write")
WRITE_METHODS = ("post", "put", "patch", "delete")
# Writes outside the ``write`` group: counters with their own flood rules (views, product
# clicks) and the chunks of a resumable upload (created under ``upload``).
_WRITE_EXEMPT_ENDPOINTS = ("feed.view", "feed.click_product", "media.tus_upload",
                           "media.tus_delete")
NEW_ACCOUNT_AGE = timedelta(days=1)
KNOWN_ADDRESSES_KEPT = 20  # per username: the owner's few devices and networks
_AMOUNT = re.compile(r"^\s*(\d+)")


def client_key() -> str:
    """Rate-limit key: the signed-in account, else the client address."""
    account = current_account()
    return f"account:{account.id}" if account else f"ip:{request.remote_addr}"


#: Created unbound; the app factory initializes it.
limiter = Limiter(key_func=client_key, headers_enabled=True)


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


def is_new_account(account) -> bool:
    created = getattr(account, "created_at", None)
    return created is not None and utcnow() - as_utc(created) < NEW_ACCOUNT_AGE


def limit_for(group: str) -> str:
    """The limit string that applies to the current request in ``group``."""
    name = group.upper()
    if f"{name}_NEW" in RATE_LIMITS and is_new_account(current_account()):
        name = f"{name}_NEW"
    return _scaled(_setting(name))


def _staff() -> bool:
    account = current_account()
    return account is not None and account.has_role("moderator")


def login_name() -> str | None:
    """The username a sign-in tries (the API's JSON or the page's form), as accounts are keyed."""
    try:
        data = request.get_json(silent=True, cache=True)
    except RecursionError:  # hostile nesting: the view answers 400
        data = None
    username = data.get("username") if isinstance(data, dict) else request.form.get("username")
    if not username:
        return None
    # a lone surrogate cannot go to Redis as UTF-8: escape it (the view then answers 400)
    name = str(username).strip().casefold()[:100].encode("utf-8", "backslashreplace").decode()
    return name or None


def _login_user_key() -> str:
    name = login_name()
    return f"user:{name}" if name else f"ip:{request.remote_addr}"


def _login_user_address_key() -> str:
    name = login_name()
    return f"user:{name}|ip:{request.remote_addr}" if name else f"ip:{request.remote_addr}"


def _known_key(name: str) -> str:
    return f"login-known:{name}"


def _known_seconds() -> int:
    return int(current_app.config["LOGIN_KNOWN_ADDRESS_DAYS"]) * 86400


def remember_sign_in(username: str) -> None:
    """Note the address a sign-in succeeded from: the username's own limit spares it."""
    name, now = username.strip().casefold(), time.time()
    key, keep = _known_key(name), _known_seconds()
    pipe = redis_client.pipeline(transaction=False)
    pipe.zadd(key, {request.remote_addr or "": now})
    pipe.zremrangebyscore(key, 0, now - keep)
    pipe.zremrangebyrank(key, 0, -KNOWN_ADDRESSES_KEPT - 1)
    pipe.expire(key, keep)
    pipe.execute()


def _from_known_address() -> bool:
    name = login_name()
    if not name:
        return False
    seen = redis_client.zscore(_known_key(name), request.remote_addr or "")
    return seen is not None and seen >= time.time() - _known_seconds()


def _failed(response) -> bool:
    return response.status_code == 401


def _login_limits(methods: list[str] | None) -> Callable:
    per_address = limiter.shared_limit(lambda: limit_for("login"), scope="rl-login",
                                       methods=methods)
    per_pair = limiter.shared_limit(lambda: _scaled(_setting("LOGIN_USER_ADDRESS")),
                                    scope="rl-login-user-address", methods=methods,
                                    key_func=_login_user_address_key, deduct_when=_failed)
    per_user = limiter.shared_limit(lambda: _scaled(_setting("LOGIN_USER")),
                                    scope="rl-login-user", methods=methods,
                                    key_func=_login_user_key, deduct_when=_failed,
                                    exempt_when=_from_known_address)

    def all_three(view: Callable) -> Callable:
        return per_address(per_pair(per_user(view)))

    return all_three


def _address_post_key() -> str:
    return f"ip:{request.remote_addr}|post:{(request.view_args or {}).get('post_id', '')}"


def _new_device(response) -> bool:
    return bool(g.get("new_device_view"))


def _signed_in() -> bool:
    return current_account() is not None


def _view_limits(methods: list[str] | None) -> Callable:
    return limiter.shared_limit(lambda: limit_for("view"), scope="rl-view", methods=methods,
                                key_func=_address_post_key, deduct_when=_new_device,
                                exempt_when=_signed_in)


def limit(group: str, methods: list[str] | None = None) -> Callable:
    """A decorator that puts the view in ``group``'s shared limit (only ``methods``, if given)."""
    if group not in GROUPS:
        raise ValueError(f"unknown rate-limit group {group!r}; one of {GROUPS}")
    if group == "login":
        decorator = _login_limits(methods)
    elif group == "view":
        decorator = _view_limits(methods)
    else:
        exempt = _staff if group in _STAFF_EXEMPT else None
        decorator = limiter.shared_limit(lambda: limit_for(group), scope=f"rl-{group}",
                                         exempt_when=exempt, methods=methods)

    def marked(view: Callable) -> Callable:
        limited = decorator(view)
        limited.rate_limit_group = group  # the contract documents the group's limits
        return limited

    return marked


def group_of(view: Callable, method: str, endpoint: str, path: str) -> str | None:
    """The group a route's requests count in (for the contract), or None if unlimited."""
    group = getattr(view, "rate_limit_group", None)
    if group:
        return group
    if _in_write_group(method, endpoint, path):
        return "write"
    return None


def _in_write_group(method: str, endpoint: str, path: str) -> bool:
    return (method.lower() in WRITE_METHODS and path.startswith("/api/")
            and endpoint not in _WRITE_EXEMPT_ENDPOINTS)


def _write_exempt() -> bool:
    return not _in_write_group(request.method, request.endpoint or "", request.path) \
        or _staff()


def install_defaults() -> None:
    """Every write under /api without a group of its own counts in ``write``."""
    limiter.limit_manager.set_default_limits([Limit(
        lambda: limit_for("write"), scope="rl-write", shared=True, methods=WRITE_METHODS,
        exempt_when=_write_exempt).bind(limiter)])


def documented_limits(group: str) -> dict[str, str]:
    """The limits of ``group`` as configured: ``{"limit": ..., "new_accounts"?: ...}``."""
    name = group.upper()
    names = ("LOGIN", "LOGIN_USER_ADDRESS", "LOGIN_USER") if group == "login" else (name,)
    found = {"limit": ";".join(_scaled(_setting(n)) for n in names)}
    if f"{name}_NEW" in RATE_LIMITS:
        found["new_accounts"] = _scaled(_setting(f"{name}_NEW"))
    return found
