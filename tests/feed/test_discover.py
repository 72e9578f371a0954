"""Tag pages and trends over real HTTP (real Redis keeps the decayed scores)."""

from __future__ import annotations

import time
from urllib.parse import quote

from tests.support import wait_for


def _like(http, fan, post) -> None:
    r = http.post(f"{http.base}/posts/{post['id']}/like", headers=fan.headers)
    assert r.status_code == 200, r.text


def _ids(page: dict) -> list[str]:
    return [p["id"] for p in page["items"]]


def _get(http, path, actor=None, expect=200, **params) -> dict:
    r = http.get(http.base + path, params=params, headers=actor.headers if actor else {})
    assert r.status_code == expect, r.text
    return r.json()


def test_a_tag_page_lists_what_the_viewer_may_see(feed, make_account, http):
    brand = make_account("merchant")
    she = make_account("fan", profile={"gender": "female", "interests": []})
    he = make_account("fan", profile={"gender": "male", "interests": []})
    public = [feed.post(brand, text=f"穿搭 {i}", tags=["穿搭"]) for i in range(3)]
    for_her = feed.post(brand, text="女生穿搭", tags=["#穿搭"], audience={"gender": "female"})
    feed.post(brand, text="别的", tags=["美妆"])
    feed.post(brand, text="草稿", tags=["穿搭"], draft=True)
    newest_first = [p["id"] for p in reversed(public)]
    assert _ids(_get(http, "/tags/穿搭/posts")) == newest_first
    assert _ids(_get(http, "/tags/穿搭/posts", he)) == newest_first
    assert _ids(_get(http, "/tags/穿搭/posts", she)) == [for_her["id"], *newest_first]
    assert _ids(_get(http, f"/tags/{quote('#穿搭')}/posts", she))[0] == for_her["id"]
    assert _get(http, "/tags/没有/posts")["items"] == []

    seen, cursor = [], None
    while True:  # paged with the one pagination helper: no duplicates, nothing missing
        page = _get(http, "/tags/穿搭/posts", she, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += _ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [for_her["id"], *newest_first]
    assert _get(http, "/tags/穿搭/posts", expect=400, limit=0)["error"]["code"] == \
        "validation_error"
    assert _get(http, "/tags/穿搭/posts", expect=400, cursor="!!")["error"]["code"] == \
        "invalid_cursor"

    r = http.post(f"{http.base}/accounts/{he.id}/block", headers=brand.headers)
    assert r.status_code == 200
    assert _get(http, "/tags/穿搭/posts", he)["items"] == []


def test_trends_rank_by_engagement_and_count_one_account_once_per_author(
        feed, make_account, http):
    a, b, spammer = make_account("merchant"), make_account("influencer"), make_account("merchant")
    fans = [make_account("fan") for _ in range(3)]
    hot = feed.post(a, text="热门新品", tags=["新品"])
    warm = feed.post(b, text="还不错", tags=["护肤"])
    spam = [feed.post(spammer, text=f"刷 {i}", tags=["刷榜"]) for i in range(6)]
    for fan in fans:
        _like(http, fan, hot)
    _like(http, fans[0], warm)
    _like(http, fans[1], warm)
    for post in spam:  # one account liking everything of one author counts once
        _like(http, fans[2], post)

    posts = _get(http, "/trends/posts")
    assert _ids(posts)[:2] == [hot["id"], warm["id"]]
    assert posts["items"][0]["trend_score"] > posts["items"][1]["trend_score"] > 0
    assert sum(1 for i in posts["items"] if i["id"] in {p["id"] for p in spam}) == 1
    tags = _get(http, "/trends/tags")["items"]
    assert [t["tag"] for t in tags] == ["新品", "护肤", "刷榜"]
    assert {t["tag"]: t["posts_count"] for t in tags} == {"新品": 1, "护肤": 1, "刷榜": 6}
    assert all(isinstance(t["score"], float) for t in tags)

    first = _get(http, "/trends/tags", limit=1)
    assert [t["tag"] for t in first["items"]] == ["新品"] and first["next_cursor"]
    rest = _get(http, "/trends/tags", limit=5, cursor=first["next_cursor"])
    assert [t["tag"] for t in rest["items"]] == ["护肤", "刷榜"] and rest["next_cursor"] is None


def test_trending_posts_per_segment_and_hidden_posts_skipped(feed, make_account, http):
    brand = make_account("merchant")
    she = make_account("fan", profile={"gender": "female", "interests": []})
    he = make_account("fan", profile={"gender": "male", "interests": []})
    dress = feed.post(brand, text="连衣裙", tags=["穿搭"])
    watch = feed.post(make_account("merchant"), text="手表", tags=["配饰"])
    for_her = feed.post(make_account("merchant"), text="只给女生", audience={"gender": "female"})
    _like(http, she, dress)
    _like(http, she, for_her)
    _like(http, he, watch)
    # what women engage with; an anonymous reader does not see the post only for women
    assert _ids(_get(http, "/trends/posts", segment="female")) == [dress["id"]]
    assert set(_ids(_get(http, "/trends/posts", she, segment="female"))) == \
        {dress["id"], for_her["id"]}
    assert _ids(_get(http, "/trends/posts", she, segment="male")) == [watch["id"]]
    assert for_her["id"] not in _ids(_get(http, "/trends/posts", he))
    bad = _get(http, "/trends/posts", expect=400, segment="aliens")
    assert bad["error"]["code"] == "validation_error" and "segment" in bad["error"]["fields"]


def test_scores_decay_with_time(app, make_account, feed):
    from feed import trends
    from feed.models import Post

    brand = make_account("merchant")
    old = feed.post(brand, text="昨天的热点", tags=["旧闻"])
    new = feed.post(make_account("merchant"), text="刚刚", tags=["新闻"])
    with app.app_context():
        half_life = app.config["TREND_HALF_LIFE_SECONDS"]
        old_doc, new_doc = Post.objects.get(id=old["id"]), Post.objects.get(id=new["id"])
        then = time.time() - 3 * half_life
        for n in range(4):  # four likes three half-lives ago: worth half a like now
            assert trends.record(old_doc, "liked", f"a:old{n}", None, now=then)
        assert trends.record(new_doc, "liked", "a:new", None)
        page = trends.trending_posts(None, None, 10, None)
    scores = {i["id"]: i["trend_score"] for i in page["items"]}
    assert list(scores) == [new["id"], old["id"]]
    assert abs(scores[old["id"]] - 0.5) < 0.01 and abs(scores[new["id"]] - 1.0) < 0.01


def test_tags_and_trends_follow_new_posts(feed, make_account, http):
    brand = make_account("merchant")
    post = feed.post(brand, text="上新", tags=["上新"])
    wait_for(lambda: [t["tag"] for t in _get(http, "/trends/tags")["items"]] == ["上新"])
    assert _ids(_get(http, "/tags/上新/posts")) == [post["id"]]
