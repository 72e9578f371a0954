"""The REST API's plumbing: the OpenAPI registry and the Blueprint every package uses.

Requests are validated by the same marshmallow schemas that generate ``/api/openapi.json``.
Validation errors are 400 (the contract), not webargs' default 422.
"""

from __future__ import annotations

import json
from typing import Any

import flask_smorest
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
        try:
            return core.parse_json(req.get_data(cache=True))
        except RecursionError:
            raise ApiError(400, "invalid_json", "JSON nested too deeply") from None

    def _handle_invalid_json_error(self, error: Exception, req: Any, *args: Any, **kwargs: Any):
        raise ApiError(400, "invalid_json", f"malformed JSON: {error}")


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint with our parser (400s, deep-JSON guard)."""

    ARGUMENTS_PARSER = Parser()


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String())


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBody, required=True)


class Api(flask_smorest.Api):
    """The OpenAPI registry; our own handlers in app.errors answer errors."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:  # app.errors owns error handling
        pass


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
