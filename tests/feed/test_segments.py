"""Behaviour segments over real HTTP: rules, current size as fans act, posts targeted at a
segment, and page layouts keyed by segment id."""

from __future__ import annotations

import requests


def _seg(http, actor, method="post", path="", expect=201, **body) -> dict:
    r = getattr(http, method)(f"{http.base}/segments{path}", json=body or None,
                              headers=actor.headers)
    assert r.status_code == expect, r.text
    return r.json() if r.content else {}


def _act(http, actor, post, what: str) -> None:
    r = http.post(f"{http.base}/posts/{post['id']}/{what}", headers=actor.headers,
                  json={"text": "好看"} if what == "comments" else None)
    assert r.status_code in (200, 201, 204), r.text


def test_segments_are_current_as_fans_act(feed, make_account, http):
    brand = make_account("merchant")
    she = make_account("fan", profile={"gender": "female", "interests": ["穿搭"]})
    he = make_account("fan", profile={"gender": "male", "interests": ["数码"]})
    other = make_account("fan", profile={"gender": "female", "interests": []})
    post = feed.post(brand, text="新品", tags=["穿搭"])
    liked_week = _seg(http, brand, name="本周点赞", rules=[{"action": "liked", "within_days": 7}])
    assert liked_week["size"] == 0 and liked_week["rules"] == [
        {"action": "liked", "within_days": 7}]
    women_fans = _seg(http, brand, name="女粉丝", rules=[{"gender": "female"}])
    engaged_women = _seg(http, brand, name="互动女粉", rules=[
        {"gender": "female"}, {"action": "viewed", "within_days": 30},
        {"followed_within_days": 7}])
    assert women_fans["size"] == 0

    _act(http, she, post, "like")  # in "liked this week" at once
    assert _seg(http, brand, "get", f"/{liked_week['id']}", 200)["size"] == 1
    _act(http, he, post, "like")
    _act(http, other, post, "comments")
    assert _seg(http, brand, "get", f"/{liked_week['id']}", 200)["size"] == 2
    for fan in (she, he, other):
        feed.follow(fan, brand)
    assert _seg(http, brand, "get", f"/{women_fans['id']}", 200)["size"] == 2
    assert _seg(http, brand, "get", f"/{engaged_women['id']}", 200)["size"] == 0
    _act(http, she, post, "view")
    _act(http, he, post, "view")
    assert _seg(http, brand, "get", f"/{engaged_women['id']}", 200)["size"] == 1
    r = http.delete(f"{http.base}/accounts/{brand.id}/follow", headers=she.headers)
    assert r.status_code == 200
    assert _seg(http, brand, "get", f"/{engaged_women['id']}", 200)["size"] == 0

    renamed = _seg(http, brand, "patch", f"/{liked_week['id']}", 200, name="本周点赞+评论",
                   rules=[{"action": "commented", "within_days": 7}])
    assert renamed["name"] == "本周点赞+评论" and renamed["size"] == 1
    listed = requests.get(f"{http.base}/segments", headers=brand.headers).json()
    assert {s["id"] for s in listed["items"]} == {liked_week["id"], women_fans["id"],
                                                  engaged_women["id"]}
    _seg(http, brand, "delete", f"/{women_fans['id']}", 204)
    _seg(http, brand, "get", f"/{women_fans['id']}", 404)


def test_segment_rules_and_owners_are_checked(make_account, http):
    brand, rival, fan = make_account("merchant"), make_account("influencer"), make_account("fan")
    own = _seg(http, brand, name="x", rules=[])
    for rules in ([{"action": "stared"}], [{"action": "liked"}], [{"gender": "other"}],
                  [{"within_days": 3}], [{"gender": "female", "followed_within_days": 3}],
                  [{"followed_within_days": 0}], [{"action": "liked", "within_days": 91}],
                  [{"nonsense": 1}], "all"):
        error = _seg(http, brand, expect=400, name="bad", rules=rules)["error"]
        assert error["code"] == "validation_error" and "rules" in error["fields"], rules
    assert _seg(http, fan, expect=403, name="x", rules=[])["error"]["code"] == "forbidden"
    _seg(http, rival, "get", f"/{own['id']}", 404)
    _seg(http, rival, "patch", f"/{own['id']}", 404, name="mine")
    _seg(http, rival, "delete", f"/{own['id']}", 404)
    _seg(http, brand, "get", "/nope", 404)
    assert requests.get(f"{http.base}/segments/{own['id']}").status_code == 401


def test_posts_target_a_segment(feed, make_account, http):
    brand, rival = make_account("merchant"), make_account("merchant")
    liker, stranger = make_account("fan"), make_account("fan")
    for fan in (liker, stranger):
        feed.follow(fan, brand)
    teaser = feed.post(brand, text="预热")
    _act(http, liker, teaser, "like")
    segment = _seg(http, brand, name="点赞过", rules=[{"action": "liked", "within_days": 7}])
    bad = feed.post(rival, expect=400, text="x", audience={"segment_id": segment["id"]})
    assert bad["error"]["code"] == "validation_error"
    vip = feed.post(brand, text="老粉专享券", audience={"segment_id": segment["id"]})
    assert vip["audience"] == {"segment_id": segment["id"]}
    assert feed.wait_in_home(liker, vip["id"])[0] == vip["id"]
    assert vip["id"] not in feed.home_ids(stranger)
    assert http.get(f"{http.base}/posts/{vip['id']}", headers=liker.headers).status_code == 200
    assert http.get(f"{http.base}/posts/{vip['id']}", headers=stranger.headers).status_code == 404
    assert http.get(f"{http.base}/posts/{vip['id']}").status_code == 404
    page = http.get(f"{http.base}/accounts/{brand.id}/posts", headers=stranger.headers).json()
    assert vip["id"] not in [p["id"] for p in page["items"]]
    _act(http, stranger, teaser, "like")  # joins the segment: sees it at once
    assert http.get(f"{http.base}/posts/{vip['id']}", headers=stranger.headers).status_code == 200


def test_page_layout_keyed_by_segment(feed, make_account, http, server):
    import re

    brand = make_account("merchant")
    fan, other = make_account("fan"), make_account("fan")
    post = feed.post(brand, text="新品")
    _act(http, fan, post, "like")
    segment = _seg(http, brand, name="点赞过", rules=[{"action": "liked", "within_days": 7}])
    r = http.patch(f"{http.base}/accounts/me", headers=brand.headers, json={"page_layout": {
        "default": ["posts", "videos", "campaigns"],
        segment["id"]: ["campaigns", "videos", "posts"]}})
    assert r.status_code == 200, r.text

    def sections(actor) -> list[str]:
        html = requests.get(f"{server.url}/m/{brand.username}", headers=actor.headers).text
        return re.findall(r'<section[^>]*data-section="(\w+)"', html)

    assert sections(fan) == ["campaigns", "videos", "posts"]
    assert sections(other) == ["posts", "videos", "campaigns"]


def test_a_large_segment_is_counted_by_a_job(feed, make_account, http, app):
    from tests.support import wait_for

    brand = make_account("merchant")
    fans = [make_account("fan", profile={"gender": g, "interests": []})
            for g in ("female", "female", "male")]
    post = feed.post(brand, text="新品")
    for fan in fans:
        _act(http, fan, post, "like")
    segment = _seg(http, brand, name="点赞女粉", rules=[{"action": "liked", "within_days": 7},
                                                    {"gender": "female"}])
    assert (segment["size"], segment["size_exact"]) == (2, True)
    before = app.config["SEGMENT_EXACT_MAX"]
    app.config["SEGMENT_EXACT_MAX"] = 1  # as if 3 likers were millions
    try:
        first = _seg(http, brand, "get", f"/{segment['id']}", 200)
        assert first["size_exact"] is False and first["size"] in (2, 3)  # bound, or counted
        counted = wait_for(lambda: (s := _seg(http, brand, "get", f"/{segment['id']}", 200))
                           ["size"] == 2 and s)
        assert counted["size_exact"] is False
    finally:
        app.config["SEGMENT_EXACT_MAX"] = before
