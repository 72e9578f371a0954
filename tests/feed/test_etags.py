"""Conditional reads over real HTTP: ETag on posts, accounts, comment pages, the home feed's
first page; If-None-Match answers 304 with no body, and a change gives a new tag."""

from __future__ import annotations

import requests


def _get(http, path: str, actor=None, etag: str | None = None, **params) -> requests.Response:
    headers = dict(actor.headers) if actor else {}
    if etag:
        headers["If-None-Match"] = etag
    return http.get(http.base + path, headers=headers, params=params)


def _round_trip(http, path: str, actor=None, **params) -> str:
    """The path is tagged, and its tag gets a 304 with no body."""
    first = _get(http, path, actor, **params)
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    again = _get(http, path, actor, etag, **params)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    return etag


def test_a_post_is_tagged_and_a_like_changes_its_tag(http, feed, make_account):
    merchant, fan = make_account("merchant"), make_account()
    post = feed.post(merchant, text="龙井 new season")
    path = f"/posts/{post['id']}"
    etag = _round_trip(http, path, fan)
    _round_trip(http, path)  # anonymous too
    assert http.post(f"{http.base}{path}/like", headers=fan.headers).status_code == 200
    changed = _get(http, path, fan, etag)
    assert changed.status_code == 200 and changed.json()["like_count"] == 1
    assert changed.headers["ETag"] != etag
    assert "Authorization" in changed.headers["Vary"]


def test_an_unknown_tag_gets_the_body(http, feed, make_account):
    merchant = make_account("merchant")
    post = feed.post(merchant, text="x")
    r = _get(http, f"/posts/{post['id']}", merchant, '"not-it"')
    assert r.status_code == 200 and r.json()["id"] == post["id"]


def test_accounts_are_tagged(http, make_account):
    merchant, fan = make_account("merchant"), make_account()
    etag = _round_trip(http, f"/accounts/{merchant.id}", fan)
    _round_trip(http, f"/accounts/@{merchant.username}", fan)
    me = _round_trip(http, "/accounts/me", merchant)
    assert http.patch(http.base + "/accounts/me", json={"bio": "茶商"},
                      headers=merchant.headers).status_code == 200
    assert _get(http, "/accounts/me", merchant, me).status_code == 200
    assert _get(http, f"/accounts/{merchant.id}", fan, etag).status_code == 200


def test_comment_pages_are_tagged(http, feed, make_account):
    merchant, fan = make_account("merchant"), make_account()
    post = feed.post(merchant, text="x")
    path = f"/posts/{post['id']}/comments"
    etag = _round_trip(http, path, fan)
    assert http.post(http.base + path, json={"text": "好喝"}, headers=fan.headers).ok
    fresh = _get(http, path, fan, etag)
    assert fresh.status_code == 200 and fresh.json()["items"][0]["text"] == "好喝"


def test_the_home_feeds_first_page_is_tagged(http, feed, make_account):
    merchant, fan = make_account("merchant"), make_account()
    feed.follow(fan, merchant)
    post = feed.post(merchant, text="first")
    feed.wait_in_home(fan, post["id"])
    etag = _round_trip(http, "/feed/home", fan)  # the kept page, tagged when built
    newer = feed.post(merchant, text="second")
    feed.wait_in_home(fan, newer["id"])
    r = _get(http, "/feed/home", fan, etag)
    assert r.status_code == 200 and r.json()["items"][0]["id"] == newer["id"]
    assert r.headers["ETag"] != etag
    _round_trip(http, "/feed/home", fan)


def test_the_home_feed_is_tagged_without_kept_pages(app, http, feed, make_account):
    merchant, fan = make_account("merchant"), make_account()
    feed.follow(fan, merchant)
    feed.wait_in_home(fan, feed.post(merchant, text="one")["id"])
    app.config["FEED_PAGE_SECONDS"] = 0
    try:
        _round_trip(http, "/feed/home", fan)
    finally:
        app.config["FEED_PAGE_SECONDS"] = 5


def test_the_contract_declares_etags(server):
    document = requests.get(server.url + "/api/openapi.json").json()
    for path in ("/api/v1/posts/{post_id}", "/api/v1/accounts/{ref}", "/api/v1/accounts/me",
                 "/api/v1/posts/{post_id}/comments", "/api/v1/feed/home"):
        op = document["paths"][path]["get"]
        assert "304" in op["responses"], path
        assert "ETag" in op["responses"]["200"]["headers"], path
        assert any(p["name"] == "If-None-Match" for p in op["parameters"]), path
