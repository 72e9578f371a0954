"""Follows: idempotent, exact counts under concurrency, paged lists, blocks and mutes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests


def test_follow_is_idempotent_and_counts_exact(feed, make_account, http):
    fan, brand = make_account("fan"), make_account("merchant")
    assert feed.follow(fan, brand) == {"following": True, "followers_count": 1,
                                     "notify": False}
    assert feed.follow(fan, brand) == {"following": True, "followers_count": 1,
                                     "notify": False}
    r = http.get(f"{http.base}/accounts/{brand.id}", headers=fan.headers).json()
    assert r["following"] is True and r["followers_count"] == 1
    assert http.get(f"{http.base}/accounts/me", headers=fan.headers).json()["following_count"] == 1
    for _ in range(2):
        r = http.delete(f"{http.base}/accounts/{brand.id}/follow", headers=fan.headers)
        assert r.json() == {"following": False, "followers_count": 0, "notify": False}


def test_counts_stay_exact_under_concurrent_follows(server, make_account, http):
    brand = make_account("merchant")
    fans = [make_account("fan") for _ in range(12)]
    url = f"{server.url}/api/v1/accounts/{brand.id}/follow"

    def churn(fan):
        with requests.Session() as s:
            for method in ("post", "post", "delete", "post", "delete", "post"):
                getattr(s, method)(url, headers=fan.headers)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(churn, fans))
    account = http.get(f"{http.base}/accounts/{brand.id}").json()
    assert account["followers_count"] == 12
    followers = http.get(f"{http.base}/accounts/{brand.id}/followers", params={"limit": 100}).json()
    assert len(followers["items"]) == 12


def test_follow_self_and_missing_account(feed, make_account, http):
    fan = make_account("fan")
    r = http.post(f"{http.base}/accounts/{fan.id}/follow", headers=fan.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "cannot_follow_self"
    r = http.post(f"{http.base}/accounts/{'0' * 24}/follow", headers=fan.headers)
    assert r.status_code == 404
    r = http.post(f"{http.base}/accounts/@ghost/follow", headers=fan.headers)
    assert r.status_code == 404
    assert http.post(f"{http.base}/accounts/{fan.id}/follow").status_code == 401


def test_followers_and_following_are_cursor_paged(feed, make_account, http):
    brand = make_account("merchant")
    fans = [make_account("fan") for _ in range(5)]
    for fan in fans:
        feed.follow(fan, brand)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{http.base}/accounts/{brand.id}/followers", params=params).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f.id for f in reversed(fans)]
    following = http.get(f"{http.base}/accounts/{fans[0].id}/following").json()
    assert [a["id"] for a in following["items"]] == [brand.id]
    assert http.get(f"{http.base}/accounts/{brand.id}/followers",
                    params={"limit": 0}).status_code == 400
    assert http.get(f"{http.base}/accounts/{brand.id}/followers",
                    params={"limit": 101}).status_code == 400
    assert http.get(f"{http.base}/accounts/{brand.id}/followers",
                    params={"cursor": "garbage!"}).status_code == 400


def test_follow_notifies_the_followed_account(feed, make_account, http):
    fan, brand = make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    feed.follow(fan, brand)
    notes = http.get(f"{http.base}/notifications", headers=brand.headers).json()
    assert notes["unread_count"] == 1
    assert [(n["type"], n["actor"]["id"]) for n in notes["items"]] == [("follow", fan.id)]
    r = http.post(f"{http.base}/notifications/read", headers=brand.headers,
                  json={"up_to": notes["items"][0]["created_at"]})
    assert r.status_code == 204
    assert http.get(f"{http.base}/notifications", headers=brand.headers).json()["unread_count"] == 0


def test_block_stops_follows_comments_and_visibility(feed, make_account, http):
    brand, troll = make_account("merchant"), make_account("fan")
    feed.follow(troll, brand)
    post = feed.post(brand, text="新品发布")
    r = http.post(f"{http.base}/accounts/{troll.id}/block", headers=brand.headers)
    assert r.status_code == 200 and r.json()["blocked"] is True
    assert http.get(f"{http.base}/accounts/{brand.id}").json()["followers_count"] == 0
    r = http.post(f"{http.base}/accounts/{brand.id}/follow", headers=troll.headers)
    assert r.status_code == 403
    assert http.get(f"{http.base}/posts/{post['id']}", headers=troll.headers).status_code == 404
    r = http.post(f"{http.base}/posts/{post['id']}/comments", headers=troll.headers,
                  json={"text": "hi"})
    assert r.status_code == 404
    page = http.get(f"{http.base}/accounts/{brand.id}/posts", headers=troll.headers).json()
    assert page["items"] == []
    http.delete(f"{http.base}/accounts/{troll.id}/block", headers=brand.headers)
    assert http.get(f"{http.base}/posts/{post['id']}", headers=troll.headers).status_code == 200


def test_mute_only_hides_from_feeds(feed, make_account, http):
    fan, brand = make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    post = feed.post(brand, text="muted soon")
    feed.wait_in_home(fan, post["id"])
    assert http.post(f"{http.base}/accounts/{brand.id}/mute", headers=fan.headers).json()["muted"]
    assert post["id"] not in feed.home_ids(fan)
    assert http.get(f"{http.base}/posts/{post['id']}", headers=fan.headers).status_code == 200
    http.delete(f"{http.base}/accounts/{brand.id}/mute", headers=fan.headers)
    assert post["id"] in feed.home_ids(fan)
