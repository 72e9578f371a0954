"""Conditional reads: an ``ETag`` on posts, accounts, comment pages and the home feed's
first page, and ``If-None-Match`` answered 304 with no body.

Apps poll what they show; a 304 spares the body on a phone's network. The tag is a digest
of the body the viewer would get (it holds viewer-specific fields such as ``liked``, so the
answers vary with ``Authorization``). ``@etagged`` goes right above ``@bp.arguments`` /
``@bp.response``. A view that already knows its body's digest (the kept home page, hashed
once when built) sets it with ``tag`` and is not hashed again.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request

from app.contract import document_header
from app.urls import public_base


def digest(body: bytes | str) -> str:
    """The tag of a body: 128 bits of BLAKE2b, enough to tell any two bodies apart."""
    data = body.encode() if isinstance(body, str) else body
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def tag(response: Response, etag: str) -> Response:
    """Give ``response`` the tag ``etag`` (a digest of its body)."""
    response.set_etag(etag)
    return response


def _conditional(response: Response) -> Response:
    if response.status_code != 200:
        return response
    # the body's URLs are built on the public base (app/urls.py): so is its tag
    own = response.get_etag()[0] or digest(response.get_data())
    response.set_etag(digest(f"{own}|{public_base()}"))
    response.vary.add("Authorization")
    if response.get_etag()[0] in request.if_none_match:
        not_modified = Response(status=304)
        for name in ("ETag", "Vary", "Cache-Control"):
            if name in response.headers:
                not_modified.headers[name] = response.headers[name]
        return not_modified
    return response


def etagged(view: Callable) -> Callable:
    """Tag the view's 200 answers and answer a matching ``If-None-Match`` with 304."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        return _conditional(current_app.make_response(view(*args, **kwargs)))

    _document(wrapper)
    return wrapper


def _document(view: Callable) -> None:
    manual = document_header(view, {
        "name": "If-None-Match", "schema": {"type": "string"},
        "description": "the `ETag` of the copy the client has: 304 with no body if unchanged"})
    manual.setdefault("responses", {})["304"] = {
        "description": "not modified: the client's copy (its `ETag`) is current",
        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}}
