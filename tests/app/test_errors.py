"""The error contract under /api: always JSON in one shape, never HTML, never a 500."""

from __future__ import annotations

import json

import pytest
import requests


def assert_error(response, status, code=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_malformed_json_is_400(http):
    r = http.post(http.base + "/auth/token", data="{not json",
                  headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


def test_wrong_types_are_400_with_fields(http):
    r = http.post(http.base + "/auth/register", json={"username": 5, "password": ["x"],
                                                      "display_name": None, "kind": "fan"})
    error = assert_error(r, 400, "validation_error")
    assert {"username", "password", "display_name"} <= set(error["fields"])


@pytest.mark.parametrize("operator", [{"$ne": None}, {"$gt": ""}, {"$regex": ".*"}, ["a"]])
def test_mongodb_operators_are_never_queries(http, make_account, operator):
    make_account("fan", username="victim")
    r = http.post(http.base + "/auth/token", json={"username": "victim", "password": operator})
    assert_error(r, 400, "validation_error")
    r = http.post(http.base + "/auth/token", json={"username": operator, "password": "x"})
    assert_error(r, 400, "validation_error")


def test_unknown_fields_are_rejected(http):
    r = http.post(http.base + "/auth/token", json={"username": "a", "password": "b", "$where": "1"})
    assert "$where" in assert_error(r, 400)["fields"]


def test_unknown_route_and_wrong_method(http):
    assert_error(http.get(http.base + "/no/such/thing"), 404, "not_found")
    assert_error(http.put(http.base + "/auth/token"), 405, "method_not_allowed")


def test_oversized_body_is_413(http):
    body = json.dumps({"username": "a" * (2 * 1024 * 1024), "password": "x"})
    r = http.post(http.base + "/auth/token", data=body, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "too_large")


def test_chunked_oversized_body_is_413(http):
    def chunks():
        yield b'{"username": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'", "password": "x"}'

    r = http.post(http.base + "/auth/token", data=chunks(),
                  headers={"Content-Type": "application/json"})
    assert_error(r, 413)


def test_deeply_nested_json_is_400(http):
    body = "[" * 100_000 + "]" * 100_000
    r = http.post(http.base + "/auth/token", data=body, headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_non_json_body_is_415(http):
    r = http.post(http.base + "/auth/token", data="username=a&password=b",
                  headers={"Content-Type": "text/plain"})
    assert_error(r, 415)


def test_missing_and_bad_tokens_are_401(http):
    assert_error(http.get(http.base + "/accounts/me"), 401, "unauthorized")
    for header in ("Bearer nonsense", "Bearer " + "x" * 500, "Basic abc", "Bearer"):
        r = http.get(http.base + "/accounts/me", headers={"Authorization": header})
        assert_error(r, 401)


def test_empty_strings_and_unicode_edges(http):
    r = http.post(http.base + "/auth/register", json={"username": "", "password": "",
                                                      "display_name": "", "kind": ""})
    assert set(assert_error(r, 400)["fields"]) >= {"username", "password", "display_name", "kind"}
    r = http.post(http.base + "/auth/register", json={
        "username": "zero_width", "password": "password123", "display_name": "\u200b名\u0000",
        "kind": "fan"})
    assert r.status_code in (201, 400)


def test_pages_outside_api_get_html(server):
    r = requests.get(server.url + "/definitely/not/here")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
