"""What keeps the pages safe: CSRF tokens, the session cookie's flags, the CSP header.

Pages run no inline script or style, so the Content-Security-Policy allows only this
origin (plus the media store's origin, when media is served from S3 or a CDN). The session
cookie carries the viewer's page token (refused as a bearer token on /api): HttpOnly,
SameSite=Lax, and Secure whenever the request came over https (or always, with
``SESSION_COOKIE_SECURE``).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin

CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token (made on first use); every page form posts it back."""
    token = session.get(CSRF_KEY)
    if not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_ok() -> bool:
    """True when the posted form carries this session's token."""
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_KEY, "")
    return bool(sent and expected) and hmac.compare_digest(sent, expected)


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure on https even when the config does not say so.

    API requests carry bearer tokens, never the cookie: they get no session to open."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


def configure_session(app: Flask) -> None:
    """Cookie flags for the page session (called when the blueprint is registered)."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = PageSessionInterface()


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


def media_origins() -> list[str]:
    """Where videos and posters may come from besides this origin (S3, a CDN)."""
    config = current_app.config
    found = {_origin(config.get("S3_PUBLIC_BASE_URL")), _origin(config.get("S3_ENDPOINT_URL"))}
    if config.get("S3_BUCKET") and not config.get("S3_ENDPOINT_URL"):
        found.add("https://*.amazonaws.com")
    return sorted(o for o in found if o)


def content_security_policy() -> str:
    media = " ".join(media_origins())
    sockets = f"ws://{request.host} wss://{request.host}"
    rules = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": f"'self' data: blob: {media}",
        "media-src": f"'self' blob: {media}",
        "connect-src": f"'self' {sockets} {media}",
        "worker-src": "'self' blob:",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
    }
    return "; ".join(f"{name} {' '.join(value.split())}" for name, value in rules.items())


def secure_headers(response: Response) -> Response:
    """CSP and friends on every page response (error pages included)."""
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.update(("Cookie", "Authorization"))
    return response
