"""Oversized and deeply nested JSON: refused with the contract's 413 / 400, never a 500.

Bodies above ``JSON_MAX_BYTES`` are refused before they are parsed, whether the client says
how long they are or streams them chunked; nesting deep enough to exhaust Python's recursion
is a 400 ``invalid_json``, including on routes whose rate limiter peeks at the body (login).
"""

from __future__ import annotations

import json

import pytest


def _routes(world) -> list[tuple[str, str, dict]]:
    post = world.post["id"]
    return [
        ("POST", "/auth/token", {}),
        ("POST", "/auth/register", {}),
        ("PATCH", "/accounts/me", world.merchant.headers),
        ("POST", "/posts", world.merchant.headers),
        ("PATCH", f"/posts/{post}", world.merchant.headers),
        ("POST", f"/posts/{post}/comments", world.fan.headers),
        ("POST", f"/posts/{post}/reports", world.fan.headers),
        ("POST", "/campaigns", world.merchant.headers),
        ("PUT", "/moderation/terms", world.moderator.headers),
        ("POST", "/media", world.fan.headers),
    ]


def _send(http, method, path, headers, data, **extra):
    headers = {**headers, "Content-Type": "application/json", **extra.pop("headers", {})}
    return http.request(method, http.base + path, data=data, headers=headers, **extra)


def test_oversized_bodies_are_413(http, app, world):
    limit = app.config["JSON_MAX_BYTES"]
    big = json.dumps({"text": "字" * limit, "kind": "post"}).encode()
    for method, path, headers in _routes(world):
        r = _send(http, method, path, headers, big)
        assert r.status_code == 413, f"{method} {path}: {r.status_code} {r.text[:200]}"
        assert r.json()["error"]["code"] == "too_large"


def test_oversized_chunked_bodies_are_413(http, app, world):
    limit = app.config["JSON_MAX_BYTES"]

    def chunks():
        yield b'{"kind": "post", "text": "'
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    for method, path, headers in _routes(world)[:4]:
        r = _send(http, method, path, headers, chunks())
        assert r.status_code == 413, f"{method} {path}: {r.status_code} {r.text[:200]}"


@pytest.mark.parametrize("shape", ["list", "object", "mixed"])
def test_deeply_nested_json_is_400(http, world, shape):
    depth = 100_000  # far past the recursion limit, still far below the size limit
    body = {
        "list": "[" * depth + "]" * depth,
        "object": '{"a":' * depth + "1" + "}" * depth,
        "mixed": '{"text":' + '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2) + "}",
    }[shape]
    for method, path, headers in _routes(world):
        r = _send(http, method, path, headers, body)
        assert r.status_code == 400, f"{method} {path}: {r.status_code} {r.text[:200]}"
        assert r.json()["error"]["code"] in ("invalid_json", "validation_error")


def test_moderately_nested_and_wide_json_is_a_validation_error(http, world):
    nested = {"kind": "post", "text": "x", "audience": {"gender": {"a": [[[[[[{"b": 1}]]]]]]}}}
    wide = {"kind": "post", "text": "x", **{f"k{i}": i for i in range(20_000)}}
    many_tags = {"kind": "post", "text": "x", "tags": ["t"] * 50_000}
    for body in (nested, wide, many_tags):
        r = http.post(http.base + "/posts", json=body, headers=world.merchant.headers)
        assert r.status_code == 400, r.text[:200]


def test_malformed_json_and_wrong_types_are_400_or_415(http, world):
    headers = world.merchant.headers
    for data in (b"{", b"\xff\xfe", b"null", b"[]", b'"text"', b"1e999999", b'{"kind": NaN}',
                 b'{"kind": "post", "text": "\\ud800"}'):
        r = _send(http, "POST", "/posts", headers, data)
        assert r.status_code == 400, (data, r.status_code, r.text[:200])
    r = http.post(http.base + "/posts", data=b"kind=post", headers={
        **headers, "Content-Type": "text/plain"})
    assert r.status_code in (400, 415), r.text[:200]


def test_lone_surrogates_are_400_everywhere(http, world):
    body = b'{"username": "\\ud800x", "password": "\\udfff", "text": "\\udc00", "kind": "post"}'
    for method, path, headers in _routes(world):
        r = _send(http, method, path, headers, body)
        assert r.status_code in (400, 401, 404), f"{method} {path}: {r.status_code} {r.text[:200]}"
    # a valid pair is one character and is kept
    r = _send(http, "POST", "/posts", world.merchant.headers,
              b'{"kind": "post", "text": "\\ud83d\\ude00 ok"}')
    assert r.status_code == 201 and r.json()["text"] == "\U0001F600 ok"
