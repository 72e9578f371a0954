"""Request-line and header limits, enforced by the app with answers in the contract's shape.

gunicorn answers requests over its own limits itself, with an HTML page, before the app
sees them. So ``gunicorn.conf.py`` sets gunicorn's limits above these, and this WSGI
middleware (outermost, before Flask and Socket.IO) applies the real ones: 414 for a long
request line (a 10 KB query string), 431 for a header field too long or too many fields.
What gunicorn still refuses itself (beyond its own limits, or a request line or header it
cannot parse) it answers in the same JSON shape too (``gunicorn.conf.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from app.errors import error_document


def _request_line_length(environ: dict) -> int:
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if uri is None:
        query = environ.get("QUERY_STRING", "")
        uri = quote(environ.get("PATH_INFO", "")) + (f"?{query}" if query else "")
    return (len(environ.get("REQUEST_METHOD", "")) + len(uri)
            + len(environ.get("SERVER_PROTOCOL", "HTTP/1.1")) + 2)


def _header_fields(environ: dict) -> list[int]:
    """The length of each header field line (``Name: value``)."""
    sizes = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            sizes.append(len(key) - 5 + 2 + len(value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            sizes.append(len(key) + 2 + len(value))
    return sizes


class RequestLimits:
    """Answers 414/431 in the contract's shape before the app runs."""

    def __init__(self, app: Callable, line_max: int, field_max: int, fields_max: int) -> None:
        self.app = app
        self.line_max, self.field_max, self.fields_max = line_max, field_max, fields_max

    def _refusal(self, environ: dict) -> tuple[int, str, str] | None:
        if _request_line_length(environ) > self.line_max:
            return 414, "URI Too Long", f"the request line is limited to {self.line_max} bytes"
        fields = _header_fields(environ)
        if len(fields) > self.fields_max:
            return (431, "Request Header Fields Too Large",
                    f"requests are limited to {self.fields_max} header fields")
        if fields and max(fields) > self.field_max:
            return (431, "Request Header Fields Too Large",
                    f"a header field is limited to {self.field_max} bytes")
        return None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        refusal = self._refusal(environ)
        if refusal is None:
            return self.app(environ, start_response)
        status, reason, message = refusal
        body = json.dumps(error_document(status, None, message)).encode()
        start_response(f"{status} {reason}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"), ("Connection", "close")])
        return [body]


def init_app(app: Any) -> None:
    config = app.config
    app.wsgi_app = RequestLimits(app.wsgi_app, config["REQUEST_LINE_MAX_BYTES"],
                                 config["REQUEST_FIELD_MAX_BYTES"], config["REQUEST_FIELDS_MAX"])
