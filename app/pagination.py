"""The one pagination helper: opaque cursors and ``{"items", "next_cursor"}`` pages."""

from __future__ import annotations

import base64
import json
from typing import Any

from marshmallow import Schema, fields, validate

from app.errors import ApiError


class PageArgs(Schema):
    """Query arguments every list accepts; ``limit`` outside 1..100 is a 400."""

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


def encode_cursor(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The value inside a cursor, or None; a cursor we did not make is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "cursor is not valid",
                       {"cursor": ["not a cursor from this API"]}) from None


def page(items: list, next_cursor: Any = None, **extra: Any) -> dict:
    """A page in the contract's shape; ``next_cursor`` is encoded unless already a string."""
    if next_cursor is not None and not isinstance(next_cursor, str):
        next_cursor = encode_cursor(next_cursor)
    return {"items": items, "next_cursor": next_cursor, **extra}
