"""Headers every response gets, and the API docs page's Content-Security-Policy.

``X-Content-Type-Options: nosniff`` on everything (API JSON, ``/media-files/``, static files):
a browser must never read an uploaded file or an API answer as HTML or script. The pages'
own CSP is in ``app/pages/security.py``; ``/api/docs`` (flask-smorest's Swagger UI page) has
one inline script, allowed by its hash and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

DOCS_PATH = "/api/docs"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_csp(html: bytes) -> str:
    """The CSP for the Swagger UI page: its vendored files, its one inline script by hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html))
    rules = {
        "default-src": "'none'",
        "script-src": f"'self' {hashes}",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value.strip()}" for name, value in rules.items())


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path == DOCS_PATH and response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = docs_csp(response.get_data())
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
