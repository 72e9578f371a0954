"""The pages' blueprint: templates, static files, the session cookie's flags, the headers.

Each page module puts its views (and ``rendering`` its template helpers) on ``bp``; the
app factory imports them all and registers it.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask.blueprints import BlueprintSetupState

from app.pages.security import configure_session, secure_headers

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/pages-static")


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    configure_session(state.app)


@bp.after_request
def _headers(response: Response) -> Response:
    return secure_headers(response)
