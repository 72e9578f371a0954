"""Safe retries: ``Idempotency-Key`` on the POSTs that create something.

A phone on a flaky network retries; the retry must not make a second post. A view under
``@idempotent`` (right below ``@auth_required``) with an ``Idempotency-Key`` header:

- claims ``idem:{account}:<key digest>`` with SET NX (the account in braces keeps the key in
  the account's Redis Cluster slot); a second request while the claim stands is 409
  ``idempotency_in_progress``;
- runs the view and stores its answer (status, the headers a client reads, body) with the
  request's fingerprint (method, path, query, body digest) for ``IDEMPOTENCY_TTL_SECONDS``;
- answers a later request with the same key from the stored answer (``Idempotent-Replayed:
  true``) if the fingerprint matches, else 422 ``idempotency_key_reused``.

An answer that is an error (raised, or 5xx) is not kept: nothing was created, and the retry
runs again. JSON bodies are fingerprinted canonically (key order does not matter);
streamed bodies (multipart, tus) are hashed while the view reads them, with the multipart
boundary left out so a client that picks a new boundary for its retry is still recognised.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, BinaryIO

import orjson
from flask import Response, current_app, g, request

from app.contract import document_header
from app.errors import ApiError
from app.extensions import redis_client

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_STREAMED = ("multipart/form-data", "application/offset+octet-stream")
_KEPT_HEADERS = ("Content-Type", "Location", "Tus-Resumable", "Upload-Expires", "Upload-Offset",
                 "Access-Control-Expose-Headers")
_CLAIMED = "claimed"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end " \
           "return 0"


class _HashingStream:
    """Reads through to the request stream, hashing what passes (minus ``strip``)."""

    def __init__(self, stream: BinaryIO, strip: bytes = b"") -> None:
        self._stream = stream
        self._strip = strip
        self._carry = b""
        self._digest = hashlib.sha256()

    def _feed(self, data: bytes) -> bytes:
        if not self._strip:
            self._digest.update(data)
            return data
        joined = (self._carry + data).replace(self._strip, b"")
        keep = len(self._strip) - 1
        cut = max(0, len(joined) - keep) if data else len(joined)
        self._digest.update(joined[:cut])
        self._carry = joined[cut:]
        return data

    def read(self, size: int = -1) -> bytes:
        return self._feed(self._stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._feed(self._stream.readline(size))

    def hexdigest(self) -> str:
        """Drain what the view left unread, then the digest of the whole body."""
        while self.read(64 * 1024):
            pass
        self._feed(b"")
        return self._digest.hexdigest()


def _json_digest(raw: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS) if raw else b""
    except orjson.JSONDecodeError:
        canonical = raw
    return hashlib.sha256(canonical).hexdigest()


def _body_reader() -> Callable[[], str]:
    """Set up hashing of the request body; the returned function gives its digest."""
    if request.mimetype in _STREAMED:
        boundary = request.mimetype_params.get("boundary", "").encode()
        hashing = _HashingStream(request.stream, boundary)
        request._get_current_object().__dict__["stream"] = hashing  # werkzeug caches it there
        return hashing.hexdigest
    return lambda: _json_digest(request.get_data(cache=True))


def _fingerprint(body_digest: str) -> str:
    head = "\n".join((request.method, request.path, request.query_string.decode("latin-1"),
                      request.mimetype, body_digest))
    return hashlib.sha256(head.encode()).hexdigest()


def _key_name(account_id: str, key: str) -> str:
    return f"idem:{{{account_id}}}:{hashlib.sha256(key.encode()).hexdigest()}"


def _key_from_header() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(400, "validation_error", "the Idempotency-Key header is invalid",
                       {HEADER: [f"1 to {MAX_KEY_LENGTH} printable characters"]})
    return key


def _replay(stored: dict) -> Response:
    response = Response(stored["body"], status=stored["status"])
    for name, value in stored["headers"].items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _answer_existing(raw: str, digest: Callable[[], str]) -> Response:
    if raw == _CLAIMED:
        raise ApiError(409, "idempotency_in_progress",
                       "a request with this Idempotency-Key is still being processed; "
                       "retry shortly", headers={"Retry-After": "1"})
    stored = orjson.loads(raw)
    if stored["fingerprint"] != _fingerprint(digest()):
        raise ApiError(422, "idempotency_key_reused",
                       "this Idempotency-Key was used with another request",
                       {HEADER: ["already used with a different request"]})
    return _replay(stored)


def _store(name: str, response: Response, fingerprint: str) -> None:
    kept = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
    stored = {"fingerprint": fingerprint, "status": response.status_code, "headers": kept,
              "body": response.get_data(as_text=True)}
    redis_client.set(name, orjson.dumps(stored).decode(),
                     ex=int(current_app.config["IDEMPOTENCY_TTL_SECONDS"]))


def idempotent(view: Callable) -> Callable:
    """Make a creating POST safe to retry with ``Idempotency-Key`` (see the module doc).

    Goes right below ``@auth_required()``: the key is per account.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key_from_header()
        if key is None:
            return view(*args, **kwargs)
        name = _key_name(str(g.account.id), key)
        digest = _body_reader()
        lock_seconds = int(current_app.config["IDEMPOTENCY_LOCK_SECONDS"])
        while not redis_client.set(name, _CLAIMED, nx=True, ex=lock_seconds):
            raw = redis_client.get(name)
            if raw is not None:  # else it lapsed or was released meanwhile: claim again
                return _answer_existing(raw, digest)
        try:
            response = current_app.make_response(view(*args, **kwargs))
            fingerprint = _fingerprint(digest())
        except BaseException:
            redis_client.eval(_RELEASE, 1, name, _CLAIMED)
            raise
        if response.status_code >= 500 or response.is_streamed:
            redis_client.eval(_RELEASE, 1, name, _CLAIMED)
        else:
            _store(name, response, fingerprint)
        return response

    _document(wrapper)
    return wrapper


def _document(view: Callable) -> None:
    """Declare the header and its answers in the OpenAPI document."""
    manual = document_header(view, {
        "name": HEADER,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": "Makes a retry safe: the same key with the same request within 24 h "
                       "replays the first answer (marked `Idempotent-Replayed: true`) without a "
                       "second effect; with another request it is 422 `idempotency_key_reused`; "
                       "while the first is running it is 409 `idempotency_in_progress`.",
    })
    responses = manual.setdefault("responses", {})
    responses.setdefault("409", {"description": "`idempotency_in_progress` (among others)"})
    responses.setdefault("422", {"description": "`idempotency_key_reused` (among others)"})
