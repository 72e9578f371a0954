"""``GET /feed/for_you`` over real HTTP: candidates, reasons, learned tastes, stable paging,
mutes, blocks and audiences; tastes are learned through the real signals and Redis."""

from __future__ import annotations

import pytest


@pytest.fixture
def fresh_rankings(app):
    """Every first page ranks again (the default reuses a ranking for two minutes)."""
    before = app.config["FOR_YOU_SNAPSHOT_SECONDS"]
    app.config["FOR_YOU_SNAPSHOT_SECONDS"] = 0
    yield
    app.config["FOR_YOU_SNAPSHOT_SECONDS"] = before


def _for_you(http, actor=None, expect=200, headers=None, **params) -> dict:
    r = http.get(http.base + "/feed/for_you", params=params,
                 headers={**(actor.headers if actor else {}), **(headers or {})})
    assert r.status_code == expect, r.text
    return r.json()


def _ids(page: dict) -> list[str]:
    return [p["id"] for p in page["items"]]


def _act(http, actor, post, what: str) -> None:
    r = http.post(f"{http.base}/posts/{post['id']}/{what}", headers=actor.headers)
    assert r.status_code in (200, 204), r.text


def test_followed_and_not_followed_authors_with_reasons(feed, make_account, http,
                                                         fresh_rankings):
    fan = make_account("fan", profile={"gender": "female", "interests": ["穿搭"]})
    followed = make_account("influencer", display_name="小美")
    stranger, other = make_account("merchant"), make_account("merchant")
    feed.follow(fan, followed)
    daily = feed.post(followed, text="今天的日常", tags=["日常"])
    outfit = feed.post(stranger, text="秋冬穿搭", tags=["穿搭"])
    gadget = feed.post(other, text="新手机", tags=["数码"])
    page = _for_you(http, fan)
    by_id = {p["id"]: p for p in page["items"]}
    assert set(by_id) == {daily["id"], outfit["id"], gadget["id"]}
    assert by_id[outfit["id"]]["reason"] == {"code": "interest", "text": "因为你喜欢 穿搭"}
    assert by_id[daily["id"]]["reason"] == {"code": "followed", "text": "来自你关注的 小美"}
    assert by_id[gadget["id"]]["reason"]["code"] == "trending"
    assert _ids(page).index(outfit["id"]) < _ids(page).index(gadget["id"])
    assert set(by_id[outfit["id"]]) >= {"id", "kind", "author", "text", "tags", "like_count",
                                        "liked", "created_at", "reason"}
    assert page["next_cursor"] is None


def test_tastes_are_learned_from_likes_views_and_comments(feed, make_account, http,
                                                           fresh_rankings):
    fan = make_account("fan")
    beauty, gadgets = make_account("influencer"), make_account("merchant")
    for text in ("口红试色", "粉底测评", "眼影盘"):
        post = feed.post(beauty, text=text, tags=["美妆"])
        _act(http, fan, post, "view")
    _act(http, fan, post, "like")
    new_beauty = feed.post(make_account("influencer"), text="新品唇釉", tags=["美妆"])
    new_gadget = feed.post(gadgets, text="新耳机", tags=["数码"])
    ranked = _for_you(http, fan)["items"]
    order = [p["id"] for p in ranked]
    assert order.index(new_beauty["id"]) < order.index(new_gadget["id"])
    reason = next(p["reason"] for p in ranked if p["id"] == new_beauty["id"])
    assert reason == {"code": "interest", "text": "因为你喜欢 美妆"}
    # the posts already seen sink below the unseen one of the same taste
    assert order.index(new_beauty["id"]) == 0


def test_never_the_same_author_twice_in_a_row(feed, make_account, http, fresh_rankings):
    fan = make_account("fan", profile={"gender": None, "interests": ["咖啡"]})
    prolific, other, third = (make_account("merchant") for _ in range(3))
    for n in range(8):
        feed.post(prolific, text=f"咖啡 {n}", tags=["咖啡"])
    feed.post(other, text="拿铁", tags=["咖啡"])
    feed.post(third, text="美式", tags=["咖啡"])
    authors = [p["author"]["id"] for p in _for_you(http, fan, limit=50)["items"]]
    assert len(authors) >= 5
    assert all(a != b for a, b in zip(authors, authors[1:]))


def test_muted_blocked_and_other_audiences_never_appear(feed, make_account, http,
                                                        fresh_rankings):
    fan = make_account("fan", profile={"gender": "male", "interests": ["运动"]})
    muted, blocked, brand = (make_account("merchant") for _ in range(3))
    m = feed.post(muted, text="跑鞋", tags=["运动"])
    b = feed.post(blocked, text="球衣", tags=["运动"])
    her = feed.post(brand, text="女款瑜伽服", tags=["运动"], audience={"gender": "female"})
    ok = feed.post(brand, text="男款跑鞋", tags=["运动"])
    first = _for_you(http, fan, limit=2)
    assert set(_ids(_for_you(http, fan))) == {m["id"], b["id"], ok["id"]}
    assert http.post(f"{http.base}/accounts/{muted.id}/mute", headers=fan.headers).ok
    assert http.post(f"{http.base}/accounts/{fan.id}/block", headers=blocked.headers).ok
    assert _ids(_for_you(http, fan)) == [ok["id"]]
    # an older snapshot's next page hides them too
    rest = _for_you(http, fan, cursor=first["next_cursor"]) if first["next_cursor"] else {
        "items": []}
    assert not {m["id"], b["id"], her["id"]} & set(_ids(rest))
    anonymous = _for_you(http, headers={"X-Device-Id": "device-1"})
    assert her["id"] not in _ids(anonymous)


def test_paging_is_stable_over_one_snapshot(feed, make_account, http):
    fan = make_account("fan", profile={"gender": None, "interests": ["旅行"]})
    authors = [make_account("influencer") for _ in range(4)]
    for n in range(12):
        feed.post(authors[n % 4], text=f"旅行 {n}", tags=["旅行"])
    first = _for_you(http, fan, limit=5)
    late = feed.post(authors[0], text="刚发的旅行", tags=["旅行"])
    seen = _ids(first)
    cursor = first["next_cursor"]
    while cursor:
        page = _for_you(http, fan, limit=5, cursor=cursor)
        seen += _ids(page)
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 12 and late["id"] not in seen
    assert _ids(_for_you(http, fan, limit=5)) == _ids(first)  # the first page is kept
    bad = _for_you(http, fan, expect=400, cursor="bm90IG91cnM")
    assert bad["error"]["code"] == "invalid_cursor"
    assert _for_you(http, fan, expect=400, limit=101)["error"]["code"] == "validation_error"


def test_anonymous_apps_need_a_device_id_and_learn_from_their_views(
        feed, make_account, http, fresh_rankings):
    error = _for_you(http, expect=400)["error"]
    assert error["code"] == "validation_error" and "X-Device-Id" in error["fields"]
    tea, gadget = make_account("merchant"), make_account("merchant")
    for n in range(3):
        post = feed.post(tea, text=f"龙井 {n}", tags=["茶"])
        r = http.post(f"{http.base}/posts/{post['id']}/view", headers={"X-Device-Id": "phone-7"})
        assert r.status_code == 204
    new_tea = feed.post(make_account("merchant"), text="新茶", tags=["茶"])
    new_gadget = feed.post(gadget, text="充电宝", tags=["数码"])
    items = _for_you(http, headers={"X-Device-Id": "phone-7"})["items"]
    order = [p["id"] for p in items]
    assert order.index(new_tea["id"]) < order.index(new_gadget["id"])
    assert items[0]["reason"]["text"] == "因为你喜欢 茶"


def test_a_kept_first_page_shows_the_viewers_own_actions_at_once(feed, make_account, http):
    fan = make_account("fan", profile={"gender": None, "interests": ["烘焙"]})
    baker = make_account("influencer")
    post = feed.post(baker, text="可颂", tags=["烘焙"])
    first = _for_you(http, fan)
    assert [(p["id"], p["liked"]) for p in first["items"]] == [(post["id"], False)]
    assert _for_you(http, fan) == first  # kept
    _act(http, fan, post, "like")
    again = _for_you(http, fan)["items"][0]
    assert again["liked"] is True and again["like_count"] == 1
    r = http.delete(f"{http.base}/posts/{post['id']}", headers=baker.headers)
    assert r.status_code == 204
    assert _for_you(http, fan)["items"] == []  # a deleted post leaves at once


def test_what_similar_fans_like_is_recommended(feed, make_account, http, fresh_rankings):
    me, twin = make_account("fan"), make_account("fan")
    cafe, camping = make_account("merchant"), make_account("merchant")
    latte = feed.post(cafe, text="拿铁", tags=["咖啡"])
    tent = feed.post(camping, text="帐篷", tags=["露营"])
    _act(http, me, latte, "like")
    _act(http, twin, latte, "like")
    _act(http, twin, tent, "like")
    items = {p["id"]: p for p in _for_you(http, me)["items"]}
    assert items[tent["id"]]["reason"] == {"code": "similar_fans",
                                           "text": "和你口味相似的粉丝也喜欢"}


def test_fans_posts_appear_only_from_followed_fans(feed, make_account, http, fresh_rankings):
    me = make_account("fan", profile={"gender": None, "interests": ["猫"]})
    friend, stranger, brand = make_account("fan"), make_account("fan"), make_account("merchant")
    feed.follow(me, friend)
    mine = feed.post(friend, text="我家猫", tags=["猫"])
    theirs = feed.post(stranger, text="别人家的猫", tags=["猫"])
    shop = feed.post(brand, text="猫粮上新", tags=["猫"])
    ids = _ids(_for_you(http, me))
    assert mine["id"] in ids and shop["id"] in ids and theirs["id"] not in ids
