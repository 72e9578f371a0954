"""The one error helper and the handlers that put every API error in the contract's shape.

``{"error": {"code": ..., "message": ..., "fields": {...}}}`` with the matching status,
for everything under ``/api``: our own errors, validation errors, Werkzeug's HTTP
errors (404, 405, 413, ...) and anything unexpected (500, never an HTML page).
"""

from __future__ import annotations

import logging

import pymongo.errors
import redis.exceptions
from flask import Flask, Response, g, jsonify, render_template_string, request
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    422: "unprocessable",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised anywhere in a request to answer with the contract's error shape."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        fields: dict | None = None,
        headers: dict | None = None,
    ) -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message or self.code.replace("_", " ")
        self.fields = fields
        self.headers = headers or {}


def error_document(status: int, code: str | None = None, message: str | None = None,
                   fields: dict | None = None) -> dict:
    """The contract's error body; also written outside Flask (``app.request_limits``, the
    errors gunicorn answers itself in ``gunicorn.conf.py``)."""
    body: dict = {"code": code or _CODES.get(status, "error"), "message": message or ""}
    if not body["message"]:
        body["message"] = body["code"].replace("_", " ")
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_response(
    status: int, code: str | None = None, message: str | None = None,
    fields: dict | None = None, headers: dict | None = None,
) -> Response:
    response = jsonify(error_document(status, code, message, fields))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if "Retry-After" in response.headers:
        g.retry_after = response.headers["Retry-After"]
    return response


def retry_after_only_when_meant(response: Response) -> Response:
    """Runs after the limiter's header injection, which writes ``Retry-After`` on every
    limited answer: keep it on a 429 (the limiter's wait) and where we set it ourselves
    (409 ``idempotency_in_progress``, 503), drop it elsewhere (a 200 is not a retry)."""
    own = g.get("retry_after")
    if own is not None:
        response.headers["Retry-After"] = own
    elif response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api") or request.path == "/healthz"


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ status }} {{ name }}</title></head>
<body><main><h1>{{ status }} {{ name }}</h1><p>{{ message }}</p></main></body></html>"""


def _html(status: int, name: str, message: str) -> Response:
    return Response(
        render_template_string(_PAGE, status=status, name=name, message=message),
        status=status, mimetype="text/html",
    )


def _unreadable_body(exc: BaseException) -> bool:
    """gunicorn's parser refused the body while the app was reading it (a bad chunk size, a
    missing terminator, the client gone mid-body): the client's fault, a 400, not a 500."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (ParseException, NoMoreData)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _dependency_down(exc: BaseException) -> str | None:
    """``"database"`` or ``"redis"`` for a lost connection to MongoDB or Redis (also when
    wrapped: ``raise ... from exc``), None for anything else (a bug in our own code)."""
    kinds: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
        ("database", (pymongo.errors.ConnectionFailure,)),  # incl. timeouts, server selection
        ("redis", (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                   # a Redis Cluster failing over: slots without a master until a replica
                   # takes over
                   redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError,
                   redis.exceptions.SlotNotCoveredError)),
    )
    seen = 0
    while exc is not None and seen < 5:
        for name, classes in kinds:
            if isinstance(exc, classes):
                return name
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        if not _wants_json():
            return _html(exc.status, exc.code, exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        headers = dict(exc.get_headers()) if status in (405, 429) else {}
        headers.pop("Content-Type", None)
        if not _wants_json():
            return _html(status, exc.name, exc.description or "")
        # webargs/flask-smorest validation errors carry the messages in exc.data
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages") if isinstance(data, dict) else None
        if messages:
            fields: dict = {}
            for location_messages in messages.values():
                if isinstance(location_messages, dict):
                    fields.update(location_messages)
                else:
                    fields.setdefault("_schema", location_messages)
            return error_response(400, "validation_error", "the request has invalid fields",
                                  fields, headers)
        description = exc.description if isinstance(exc.description, str) else None
        return error_response(status, None, description, None, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if _unreadable_body(exc):
            log.info("unreadable request body on %s %s: %r", request.method, request.path, exc)
            if not _wants_json():
                return _html(400, "Bad Request", "请求无法读取。")
            return error_response(400, "bad_request", f"the request body is malformed: {exc}")
        down = _dependency_down(exc)
        if down:
            # Redis or MongoDB restarting: a 503 the client may retry, not a 500 (the contract)
            log.warning("%s down on %s %s: %r", down, request.method, request.path, exc)
            headers = {"Retry-After": "1"}
            if not _wants_json():
                response = _html(503, "Service Unavailable", "请稍后重试。")
                response.headers.update(headers)
                return response
            if down == "database":
                return error_response(503, "database_unavailable", "the database is "
                                      "unavailable; retry shortly", None, headers)
            return error_response(503, "unavailable", "a backing service is unavailable; "
                                                      "retry shortly", None, headers)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return _html(500, "Internal Server Error", "Something went wrong.")
        return error_response(500, "internal_error", "internal error")
