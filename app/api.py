"""The REST API's plumbing: the OpenAPI registry, the Blueprint every package uses, and
``Shown`` (a document plus what an answer adds) for the response schemas to dump.

Requests are validated by the same marshmallow schemas that generate ``/api/openapi.json``.
Validation errors are 400 (the contract), not webargs' default 422.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import current_app
from marshmallow import Schema, fields
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from app.errors import ApiError

API_PREFIX = "/api/v1"


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            if req.content_length and req.mimetype not in ("", "multipart/form-data",
                                                            "application/x-www-form-urlencoded"):
                raise ApiError(415, "unsupported_media_type", "send application/json")
            return core.missing
        data = req.get_data(cache=True)
        try:
            parsed = core.parse_json(data)
        except RecursionError:
            raise ApiError(400, "invalid_json", "JSON nested too deeply") from None
        if b"\\u" in data and _has_lone_surrogate(parsed):
            # BSON (and every UTF-8 consumer) cannot encode them: refuse here, not with a 500
            raise ApiError(400, "invalid_json", "JSON strings must be valid Unicode "
                                                "(a lone surrogate escape was sent)")
        return parsed

    def _handle_invalid_json_error(self, error: Exception, req: Any, *args: Any, **kwargs: Any):
        raise ApiError(400, "invalid_json", f"malformed JSON: {error}")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """True if any string (or key) holds a UTF-16 surrogate that json.loads left unpaired."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint with our parser (400s, deep-JSON guard)."""

    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """A schema class is built once per route, not once per request (webargs' way):
        our argument schemas hold no request state."""
        return super().arguments(schema() if isinstance(schema, type) else schema,
                                 *args, **kwargs)


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String())


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBody, required=True)


class Shown:
    """A document with what one answer adds to it (an author's account, whether the viewer
    read it): a response schema reads the added values first, then the document's own."""

    def __init__(self, document: Any, **added: Any) -> None:
        self.document = document
        self.__dict__.update(added)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.document, name)


class Api(flask_smorest.Api):
    """The OpenAPI registry; our own handlers in app.errors answer errors.

    ``/api/openapi.json`` serves the document passed through ``finisher`` (set by the app
    factory: the parts that cut across routes), built once.
    """

    ERROR_SCHEMA = ErrorSchema
    finisher: Callable[[dict], dict] | None = None
    _document: dict | None = None

    def _register_error_handlers(self) -> None:  # app.errors owns error handling
        pass

    def document(self) -> dict:
        if self._document is None:
            spec = self.spec.to_dict()
            self._document = self.finisher(spec) if self.finisher else spec
        return self._document

    def _openapi_json(self):
        return current_app.response_class(json.dumps(self.document(), ensure_ascii=False),
                                          mimetype="application/json")


def openapi_config() -> dict[str, Any]:
    return {
        "API_TITLE": "Fanhub API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        "API_SPEC_OPTIONS": {
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
            },
        },
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
