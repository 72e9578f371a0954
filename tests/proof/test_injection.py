"""MongoDB operator injection: every JSON field and query argument that reaches a query.

Each field of a valid request is replaced in turn by an operator document (or an operator
list); the API must refuse it as input (4xx, contract shape), never run it (2xx, a match it
should not have found) and never crash (5xx). Cursors are JSON inside base64, so hostile
cursors are built too.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from app.pagination import encode_cursor

OPERATORS = [
    {"$gt": ""}, {"$ne": None}, {"$where": "sleep(5000) || true"}, {"$regex": ".*"},
    {"$in": ["", None]}, {"$exists": True}, {"$expr": {"$eq": [1, 1]}}, ["$gt", ""],
]


def _paths(value, prefix=()):
    """Every path to a value inside a JSON document (containers and leaves)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from _paths(inner, (*prefix, index))


def _replaced(body, path, new):
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


def _assert_refused(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    assert 400 <= response.status_code < 500, f"{what} was accepted: {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/json"), what
    assert set(response.json()) == {"error"}, what


def _bodies(world, item_id: str) -> list[tuple[str, str, dict, dict]]:
    """(method, path, headers, valid body) for every route with a JSON body."""
    now = datetime.now(UTC)
    fan, merchant, moderator = world.fan, world.merchant, world.moderator
    post, comment = world.post["id"], world.comment["id"]
    return [
        ("POST", "/auth/token", {}, {"username": fan.username, "password": "password123"}),
        ("POST", "/auth/register", {}, {"username": "newbie_1", "password": "password123",
                                        "display_name": "N", "kind": "fan",
                                        "profile": {"gender": "female", "interests": ["a"]}}),
        ("POST", "/auth/password", fan.headers, {"old_password": "password123",
                                                 "new_password": "password456"}),
        ("PATCH", "/accounts/me", merchant.headers, {
            "display_name": "M", "bio": "b", "avatar_media_id": "x",
            "profile": {"gender": "male", "interests": ["shoes"]},
            "page_layout": {"default": ["videos", "posts"]}}),
        ("DELETE", "/accounts/me", fan.headers, {"password": "password123"}),
        ("POST", "/posts", merchant.headers, {
            "kind": "post", "text": "t", "title": "a title", "media_ids": ["m1"], "tags": ["a"],
            "audience": {"gender": "female", "interests_any": ["shoes"]},
            "campaign_id": world.campaign["id"],
            "products": [{"title": "p", "url": "https://example.com", "price": "1",
                          "image_url": "https://example.com/i.jpg"}]}),
        ("POST", "/posts", merchant.headers, {"kind": "headline", "title": "T", "body": "B"}),
        ("PATCH", f"/posts/{post}", merchant.headers, {
            "text": "t", "title": "T", "body": "b", "tags": ["x"],
            "audience": {"gender": "male"}, "products": [{"title": "p", "url": "https://e.com"}]}),
        ("POST", f"/posts/{post}/comments", fan.headers, {"text": "hi"}),
        ("POST", f"/posts/{post}/reports", fan.headers, {"reason": "spam", "details": "d"}),
        ("POST", f"/comments/{comment}/reports", merchant.headers, {"reason": "spam"}),
        ("POST", f"/accounts/{merchant.id}/reports", fan.headers, {"reason": "spam"}),
        ("POST", "/campaigns", merchant.headers, {
            "title": "T", "description": "D", "tag": "t",
            "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}),
        ("POST", f"/moderation/queue/{item_id}/decision", moderator.headers,
         {"action": "approve", "reason": "ok"}),
        ("PUT", "/moderation/terms", moderator.headers, {"block": ["x"], "review": ["y"]}),
        ("POST", f"/moderation/accounts/{fan.id}/suspend", moderator.headers, {"reason": "r"}),
        ("POST", f"/moderation/accounts/{fan.id}/verify", moderator.headers, {"reason": "r"}),
        ("POST", "/notifications/read", fan.headers, {"up_to": now.isoformat()}),
        ("POST", "/media", fan.headers, {"upload_id": "0" * 32}),
    ]


@pytest.fixture
def item_id(http, world) -> str:
    r = http.post(f"{http.base}/posts/{world.post['id']}/reports", json={"reason": "spam"},
                  headers=world.other_fan.headers)
    assert r.status_code == 201, r.text
    r = http.get(f"{http.base}/moderation/queue", headers=world.moderator.headers)
    return r.json()["items"][0]["id"]


def test_operators_in_every_json_field_are_refused(http, world, item_id):
    checked = 0
    for method, path, headers, body in _bodies(world, item_id):
        for field_path in _paths(body):
            for operator in OPERATORS:
                hostile = _replaced(body, field_path, operator)
                r = http.request(method, http.base + path, json=hostile, headers=headers)
                _assert_refused(r, f"{method} {path} {field_path}={operator}")
                checked += 1
        # the whole body as an operator document, and an operator as a top-level key
        for hostile in ({"$where": "1"}, {**body, "$set": {"roles": ["admin"]}}):
            r = http.request(method, http.base + path, json=hostile, headers=headers)
            assert r.status_code < 500, f"{method} {path} {hostile}: {r.text[:300]}"
    assert checked > 600
    # nothing changed hands: the fan is not an admin, not suspended, and can still sign in
    r = http.get(http.base + "/accounts/me", headers=world.fan.headers)
    assert r.status_code == 200 and r.json()["roles"] == []


def test_login_with_operators_never_signs_in(http, world):
    for username in ({"$ne": None}, {"$gt": ""}, {"$regex": "^fan"}, [world.fan.username]):
        for password in ({"$ne": None}, {"$gt": ""}, "password123"):
            r = http.post(http.base + "/auth/token",
                          json={"username": username, "password": password})
            _assert_refused(r, f"login {username} {password}")
            assert "token" not in r.text
    # operator-looking strings are only strings
    r = http.post(http.base + "/auth/token", json={"username": "$ne", "password": "$ne"})
    assert r.status_code == 401


def test_operator_looking_strings_are_stored_verbatim(http, world):
    text = '{"$where": "1"} $gt $ne'
    r = http.post(http.base + "/posts", json={"kind": "post", "text": text, "tags": ["$where"]},
                  headers=world.merchant.headers)
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["text"] == text and post["tags"] == ["$where"]
    r = http.post(f"{http.base}/posts/{post['id']}/comments", json={"text": "$regex"},
                  headers=world.fan.headers)
    assert r.status_code == 201 and r.json()["text"] == "$regex"


def test_page_layout_keys_cannot_be_field_operators(http, world):
    for key in ("$where", "a.b", "$set"):
        r = http.patch(http.base + "/accounts/me", json={"page_layout": {key: ["posts"]}},
                       headers=world.merchant.headers)
        assert r.status_code == 400, (key, r.text)
    r = http.patch(http.base + "/accounts/me", json={"page_layout": {"female": ["videos"]}},
                   headers=world.merchant.headers)
    assert r.status_code == 200, r.text


QUERY_ROUTES = [
    ("/search", ["q", "type", "author", "tag", "since", "until", "cursor"], None),
    ("/search/suggest", ["q"], None),
    ("/moderation/queue", ["status", "target_type", "reason", "cursor"], "moderator"),
    ("/moderation/audit", ["target_type", "target_id", "cursor"], "moderator"),
    ("/feed/home", ["cursor", "after"], "fan"),
    ("/notifications", ["cursor"], "fan"),
    ("/channels/influencers", ["cursor"], None),
]


def test_operator_query_arguments_are_plain_strings(http, world):
    for path, names, who in QUERY_ROUTES:
        headers = getattr(world, who).headers if who else {}
        for name in names:
            for raw in ('{"$ne": null}', "[$ne]", "$where"):
                r = http.get(http.base + path, params={name: raw}, headers=headers)
                assert r.status_code in (200, 400), f"{path}?{name}={raw}: {r.text[:200]}"
            # PHP/qs-style nested keys are not parsed into operators
            r = http.get(f"{http.base}{path}?{name}[$ne]=x&{name}[$gt]=", headers=headers)
            assert r.status_code in (200, 400), f"{path} {name}[$ne]: {r.text[:200]}"


def _cursor_routes(world) -> list[tuple[str, dict]]:
    return [
        (f"/accounts/{world.merchant.id}/followers", {}),
        (f"/accounts/{world.merchant.id}/following", {}),
        (f"/accounts/{world.merchant.id}/posts", {}),
        (f"/accounts/{world.merchant.id}/campaigns", {}),
        (f"/posts/{world.post['id']}/comments", {}),
        (f"/campaigns/{world.campaign['id']}/entries", {}),
        (f"/campaigns/{world.campaign['id']}/entries?sort=views", {}),
        ("/channels/videos", {}),
        ("/feed/home", world.fan.headers),
        ("/notifications", world.merchant.headers),
        ("/moderation/queue", world.moderator.headers),
        ("/moderation/queue?status=all", world.moderator.headers),
        ("/moderation/audit", world.moderator.headers),
        ("/search?q=hello", {}),
    ]


def test_hostile_cursors_are_400_not_queries(http, world):
    oid = world.post["id"]
    ends = int(datetime.fromisoformat(world.campaign["ends_at"].replace("Z", "+00:00"))
               .timestamp() * 1000)
    values = [
        {"$gt": ""}, [{"$gt": 0}, oid], [1, {"$ne": None}], ["new", {"$gt": 0}, oid],
        ["new", 1, {"$ne": None}], [{"$where": "1"}], {"0": "x", "1": oid}, "x" * 24,
        [0, ends, {"$gt": ""}], [0, ends, 5], [0, ends, None], [0, 0], 1e308, None, True,
        [[], []], ["2026-01-01T00:00:00", {"$gt": ""}], [{"$gt": ""}, oid],
    ]
    for path, headers in _cursor_routes(world):
        sep = "&" if "?" in path else "?"
        for value in values:
            r = http.get(f"{http.base}{path}{sep}cursor={encode_cursor(value)}", headers=headers)
            assert r.status_code in (200, 400), f"{path} cursor={value}: {r.status_code} {r.text[:200]}"
            if r.status_code == 400:
                assert r.json()["error"]["code"] in ("invalid_cursor", "validation_error")
        for raw in ("%%%", "eyJ", "W10", "bnVsbA", "IiI"):
            r = http.get(f"{http.base}{path}{sep}cursor={raw}", headers=headers)
            assert r.status_code in (200, 400), f"{path} cursor={raw}: {r.text[:200]}"
