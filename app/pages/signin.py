"""``/login`` and ``/logout`` for browsers: a plain form, a CSRF token, a session cookie.

Signing in puts a fresh page token (``tokens.issue(page=True)``, never usable as a bearer
token) in the session; every page (and the same-site Socket.IO connection) finds the viewer
through it. Signing out revokes that token at once.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import redirect, request, session, url_for

from app.accounts import service as accounts
from app.accounts import tokens
from app.errors import ApiError
from app.pages.blueprint import bp
from app.pages.rendering import render
from app.pages.security import CSRF_KEY, csrf_ok, csrf_token
from app.ratelimits import limit, remember_sign_in


def safe_next(target: str | None) -> str | None:
    r"""The path to go to after signing in, if it stays on this site; else None.

    Judged as a browser reads a ``Location`` (the WHATWG URL parser): it drops tabs and
    newlines anywhere, trims control characters and spaces at the ends and reads ``\`` as
    ``/``, so ``/<TAB>/evil.example`` and ``/\evil.example`` both mean ``//evil.example``,
    another host. Any control, format or space character or a backslash refuses the target,
    and what is left must be a path with neither scheme nor host.
    """
    if not target or len(target) > 2000 or "\\" in target:
        return None
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_of(account) -> str:
    if account.kind in ("merchant", "influencer"):
        return url_for("pages.dashboard")
    if account.has_role("moderator"):
        return url_for("pages.moderation_queue")
    return url_for("pages.login")


@bp.route("/login", methods=["GET", "POST"])
@limit("login", methods=["POST"])  # the API's sign-in limits, in the same buckets
def login():
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render("login.html", next_url=next_url, error=None, username="")
    username = request.form.get("username", "").strip()[:100]
    if not csrf_ok():
        return render("login.html", 400, next_url=next_url, username=username,
                      error="表单已过期,请重新提交。")
    try:
        account = accounts.authenticate(username, request.form.get("password", "")[:200])
    except ApiError as exc:
        message = "账号已被停用。" if exc.status == 403 else "用户名或密码不正确。"
        return render("login.html", exc.status, next_url=next_url, username=username,
                      error=message)
    remember_sign_in(username)
    old = session.get("token")
    if old:  # signing in again (maybe as someone else): the previous session token dies
        tokens.revoke(old)
    session.clear()  # a fresh session: nothing from before sign-in survives it
    session["token"] = tokens.issue(account.id, page=True)  # never a bearer token
    session.permanent = True
    csrf_token()
    return redirect(next_url or home_of(account), 303)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render("logout.html")
    if not csrf_ok():
        return render("message.html", 400, title="表单已过期", message="请返回页面后重试。")
    token = session.get("token")
    if token:
        tokens.revoke(token)
    session.pop("token", None)
    session.pop(CSRF_KEY, None)
    return redirect(url_for("pages.login"), 303)
