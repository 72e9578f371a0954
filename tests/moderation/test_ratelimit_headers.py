"""Limits a client can see: every limited route answers X-RateLimit-*, the contract says so."""

from __future__ import annotations

import time

import pytest
import requests

LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# writes with their own flood rules (views, product clicks) and tus chunks (see ratelimits)
UNLIMITED_WRITES = {("post", "/api/v1/posts/{post_id}/view"),
                    ("post", "/api/v1/posts/{post_id}/products/{index}/click"),
                    ("patch", "/api/v1/uploads/{upload_id}"),
                    ("delete", "/api/v1/uploads/{upload_id}")}


def _assert_limit_headers(response: requests.Response) -> None:
    for name in LIMIT_HEADERS:
        assert response.headers[name].isdigit(), (name, response.request.url)
    now = time.time()
    assert now - 1 <= int(response.headers["X-RateLimit-Reset"]) <= now + 86400 + 1
    assert int(response.headers["X-RateLimit-Remaining"]) < int(
        response.headers["X-RateLimit-Limit"])


def test_writes_of_every_kind_answer_the_headers(http, make_account):
    merchant, fan = make_account("merchant"), make_account()
    b = http.base
    post = http.post(b + "/posts", json={"kind": "post", "text": "hi"}, headers=merchant.headers)
    comment = http.post(f"{b}/posts/{post.json()['id']}/comments", json={"text": "c"},
                        headers=fan.headers)
    answers = [
        post, comment,
        http.post(f"{b}/posts/{post.json()['id']}/like", headers=fan.headers),
        http.delete(f"{b}/posts/{post.json()['id']}/like", headers=fan.headers),
        http.post(f"{b}/accounts/{merchant.id}/follow", headers=fan.headers),
        http.delete(f"{b}/accounts/{merchant.id}/follow", headers=fan.headers),
        http.patch(f"{b}/accounts/me", json={"bio": "茶"}, headers=fan.headers),
        http.post(f"{b}/notifications/read", json={"up_to": "2030-01-01T00:00:00Z"},
                  headers=fan.headers),
        http.delete(f"{b}/comments/{comment.json()['id']}", headers=fan.headers),
        http.delete(f"{b}/posts/{post.json()['id']}", headers=merchant.headers),
    ]
    for answer in answers:
        assert answer.status_code < 300, (answer.request.method, answer.request.url, answer.text)
        _assert_limit_headers(answer)
        assert "Retry-After" not in answer.headers  # only a 429 (or a 409/503) asks to wait


def test_the_write_group_answers_429_with_retry_after(app, http, make_account, real_limits):
    merchant, fan = make_account("merchant"), make_account()
    posts = [http.post(http.base + "/posts", json={"kind": "post", "text": f"p{i}"},
                       headers=merchant.headers).json()["id"] for i in range(3)]
    app.config["RATELIMIT_WRITE"] = "2/minute"
    try:
        answers = [http.post(f"{http.base}/posts/{p}/like", headers=fan.headers) for p in posts]
    finally:
        app.config.pop("RATELIMIT_WRITE")
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:2]] == ["1", "0"]


def test_an_unlimited_read_carries_no_limit_headers(http, make_account):
    fan = make_account()
    r = http.get(f"{http.base}/accounts/{fan.id}", headers=fan.headers)
    assert r.status_code == 200
    assert not set(LIMIT_HEADERS) & set(r.headers)


@pytest.fixture
def document(server) -> dict:
    return requests.get(server.url + "/api/openapi.json").json()


def test_the_contract_gives_every_write_its_limits_and_headers(document):
    headers = document["components"]["headers"]
    assert set(LIMIT_HEADERS) | {"Retry-After"} <= set(headers)
    limited = 0
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if method not in ("post", "put", "patch", "delete") or (method, path) in \
                    UNLIMITED_WRITES:
                continue
            limited += 1
            rate = op["x-rate-limit"]
            assert rate["group"] and "/" in rate["limit"], (method, path)
            assert "Rate limited" in op["description"]
            assert op["responses"]["429"] == {"$ref": "#/components/responses/RateLimited"}
            for status, response in op["responses"].items():
                if status.startswith("2"):
                    assert set(LIMIT_HEADERS) <= set(response["headers"]), (method, path)
    assert limited > 25
    posts = document["paths"]["/api/v1/posts"]["post"]["x-rate-limit"]
    assert posts == {"group": "post", "limit": "20000/minute;200000/hour",  # scaled in tests
                     "new_accounts": "5000/minute;30000/hour"}
    rate_limited = document["components"]["responses"]["RateLimited"]
    assert "Retry-After" in rate_limited["headers"]
