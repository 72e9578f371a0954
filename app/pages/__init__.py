"""Server-rendered HTML pages: account pages, posts, campaigns, login, dashboard, moderation.

Thin views over the service layer (``feed``, ``moderation``, ``app.accounts``); Jinja
templates with autoescape; JavaScript only from static files (``static/pages.js`` and the
vendored hls.js and socket.io-client), so the CSP allows no inline script at all.
Start with ``public.py`` (account, post and campaign pages); ``signin.py`` is /login and
/logout, ``dashboard.py`` the merchant dashboard, ``moderation.py`` the moderators' queue,
``security.py`` CSRF, cookie flags and the CSP.
"""

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/pages-static")


@bp.record_once
def _setup(state) -> None:
    from app.pages import security

    security.configure_session(state.app)


@bp.after_request
def _headers(response):
    from app.pages.security import secure_headers

    return secure_headers(response)


from app.pages import dashboard, moderation, public, rendering, signin  # noqa: E402,F401  (routes)
