"""The one pagination helper: opaque cursors and ``{"items", "next_cursor"}`` pages."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
from bson import ObjectId
from marshmallow import Schema, fields, validate

from app.errors import ApiError

DEFAULT_LIMIT = 20


class PageArgs(Schema):
    """Query arguments every list accepts; ``limit`` outside 1..100 is a 400."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


def page_schema(item: type[Schema], name: str | None = None,
                **extra: fields.Field) -> type[Schema]:
    """The response schema of a page of ``item``: ``items``, ``next_cursor`` and ``extra``.

    Named ``<Item>PageSchema`` (or ``name``), so the OpenAPI document lists each page once.
    """
    name = name or item.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict({"items": fields.List(fields.Nested(item)),
                             "next_cursor": fields.String(allow_none=True), **extra}, name=name)


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


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


def newest_first(query: Any, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """One page of a MongoDB query, newest first by id; returns (rows, next_cursor).

    The cursor is the last row's id, so rows added meanwhile never shift a page.
    """
    last = decode_cursor(cursor)
    if last is not None:
        if not (isinstance(last, str) and ObjectId.is_valid(last)):
            raise ApiError(400, "invalid_cursor", "cursor is not valid",
                           {"cursor": ["not a cursor from this API"]})
        query = query.filter(id__lt=ObjectId(last))
    rows = list(query.order_by("-id").limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(str(rows[-1].id)) if more and rows else None
