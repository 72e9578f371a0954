"""The one pagination helper: opaque cursors and ``{"items", "next_cursor"}`` pages."""

from __future__ import annotations

import base64
import contextlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from bson import ObjectId
from marshmallow import Schema, fields, validate
from mongoengine.queryset.visitor import Q

from app.errors import ApiError
from app.times import as_utc, from_ms, parse_instant

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


# What any cursor of ours can hold: a short list (or small object) of strings, booleans,
# null and integers of at most 53 bits; finite floats only where a search engine put them.
MAX_CURSOR_INT = 2**53
_MAX_ITEMS = 16
_MAX_DEPTH = 3


NOT_OURS = "not a cursor from this API"


def invalid_cursor(why: str = NOT_OURS, name: str = "cursor",
                   message: str = "cursor is not valid") -> ApiError:
    """The one 400 ``invalid_cursor``: ``raise invalid_cursor(...)`` also for a cursor that
    decoded but leads nowhere (a ranking that has expired)."""
    return ApiError(400, "invalid_cursor", message, {name: [why]})


@contextlib.contextmanager
def refusing(*errors: type[BaseException], why: str = NOT_OURS, name: str = "cursor",
             message: str = "cursor is not valid") -> Iterator[None]:
    """Any of ``errors`` raised inside is the 400 ``invalid_cursor``: for a cursor read
    further than ``decode_cursor`` can (a search engine's own part of it)."""
    try:
        yield
    except errors:
        raise invalid_cursor(why, name, message) from None


def _plain(value: Any, depth: int = 0) -> bool:
    """True when ``value`` is within what we ever encode (no 20-digit numbers, no nesting)."""
    if value is None or isinstance(value, (bool, str)):
        return not isinstance(value, str) or len(value) <= 200
    if isinstance(value, int):
        return -MAX_CURSOR_INT <= value <= MAX_CURSOR_INT
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_CURSOR_INT
    if depth >= _MAX_DEPTH or len(value) > _MAX_ITEMS:
        return False
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_plain(v, depth + 1) for v in value.values())
    return False


# Parts of a cursor, for ``decode_cursor(cursor, parts)``: each checks and converts one
# value, raising ValueError when it does not fit.
def ms_part(value: Any) -> int:
    """Epoch milliseconds inside ``app.times``' range."""
    from_ms(value)
    return value


def count_part(value: Any) -> int:
    """A non-negative integer (a view count, an offset)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("not a count")
    return value


def int_part(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not an integer")
    return value


def int_range(least: int, most: int) -> Callable[[Any], int]:
    """An integer from ``least`` to ``most`` (an offset into a list of known length)."""
    def check(value: Any) -> int:
        if not least <= int_part(value) <= most:
            raise ValueError("out of range")
        return value
    return check


def id_part(value: Any) -> str:
    """An ObjectId's 24 hex digits."""
    if not isinstance(value, str) or not ObjectId.is_valid(value):
        raise ValueError("not an id")
    return value


def str_part(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def instant_part(value: Any) -> datetime:
    """An ISO 8601 time inside ``app.times``' range, as an aware UTC datetime."""
    return parse_instant(value)


def one_of(*choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not any(value == c and type(value) is type(c) for c in choices):
            raise ValueError("not one of the choices")
        return value
    return check


def decode_cursor(cursor: str | None,
                  parts: Sequence[Callable[[Any], Any]] | Callable[[Any], Any] | None = None,
                  name: str = "cursor", shape: type | None = None) -> Any:
    """The value inside a cursor, or None; a cursor we did not make is a 400.

    Every cursor is checked for what we ever put in one (``_plain``). With a sequence of
    ``parts`` it must be a list of exactly those parts, each checked and converted
    (``ms_part``, ``id_part``, ...); with one part it is that single value. So a
    well-formed cursor holding an impossible value is a 400 too, not a 500 later.
    With ``shape`` (``dict``, ``list``) it must be of that type.
    """
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise invalid_cursor(name=name) from None
    if not _plain(value) or (shape is not None and not isinstance(value, shape)):
        raise invalid_cursor(name=name)
    if parts is None:
        return value
    try:
        if callable(parts):
            return parts(value)
        if not isinstance(value, list) or len(value) != len(parts):
            raise ValueError("not the cursor's parts")
        return [part(v) for part, v in zip(parts, value, strict=True)]
    except (ValueError, TypeError):
        raise invalid_cursor(name=name) from None


def after_key(query: Any, field: str, value: Any, last_id: str,
              ascending: bool = False) -> Any:
    """The rows of a MongoDB ``query`` that come after ``(value, last_id)`` in the order of
    ``(field, id)`` (descending unless ``ascending``): the rest of a keyset-paged list."""
    op = "gt" if ascending else "lt"
    return query.filter(Q(**{f"{field}__{op}": value})
                        | Q(**{field: value, f"id__{op}": ObjectId(last_id)}))


def page(items: list, next_cursor: Any = None, **extra: Any) -> dict:
    """A page in the contract's shape; ``next_cursor`` is encoded unless already a string."""
    if next_cursor is not None and not isinstance(next_cursor, str):
        next_cursor = encode_cursor(next_cursor)
    return {"items": items, "next_cursor": next_cursor, **extra}


def newest_first(query: Any, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """One page of a MongoDB query, newest first by id; returns (rows, next_cursor).

    The cursor is the last row's id, so rows added meanwhile never shift a page.
    """
    last = decode_cursor(cursor, id_part)
    if last is not None:
        query = query.filter(id__lt=ObjectId(last))
    rows = list(query.order_by("-id").limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(str(rows[-1].id)) if more and rows else None


def by_time_then_id(query: Any, key: str, limit: int, cursor: str | None,
                    ascending: bool = False) -> tuple[list, str | None]:
    """One page of a MongoDB query ordered by the time field ``key``, then id (oldest first
    when ``ascending``, else newest first); returns (rows, next_cursor).

    The cursor is the last row's ``[ISO time, id]``, so rows added meanwhile never shift a
    page, and rows sharing a time are neither skipped nor repeated.
    """
    bound = decode_cursor(cursor, (instant_part, id_part))
    if bound is not None:
        query = after_key(query, key, *bound, ascending=ascending)
    sign = "+" if ascending else "-"
    rows = list(query.order_by(f"{sign}{key}", f"{sign}id").limit(limit + 1))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([as_utc(getattr(rows[-1], key)).isoformat(), str(rows[-1].id)])
