"""``/search`` and ``/search/suggest`` end to end: publish through the API, the signal queues a
job on the real worker, the job indexes, the search answers with the contract's JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.times import utcnow
from tests.support import wait_for

API = "/api/v1"


@pytest.fixture
def index(app):
    """The app's engine, emptied for this test (MongoDB and Redis are emptied by conftest)."""
    from search.backend import get_engine

    with app.app_context():
        engine = get_engine()
        engine.recreate([])
    yield engine
    app.extensions["search"]["engine"] = engine  # a test may have swapped in a broken one


def publish(client, actor, **data) -> dict:
    data.setdefault("kind", "post")
    response = client.post(f"{API}/posts", json=data, headers=actor.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def search(client, actor=None, **params) -> dict:
    response = client.get(f"{API}/search", query_string=params,
                          headers=actor.headers if actor else {})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def found_ids(client, actor=None, **params) -> list[str]:
    return [item.get("post", item.get("account"))["id"]
            for item in search(client, actor, **params)["items"]]


def wait_found(client, post_id, actor=None, **params) -> dict:
    return wait_for(lambda: post_id in found_ids(client, actor, **params) and search(
        client, actor, **params))


def wait_gone(client, post_id, actor=None, **params) -> None:
    wait_for(lambda: post_id not in found_ids(client, actor, **params))


def test_publish_then_find_with_post_and_account_json(client, index, make_account):
    lily = make_account("influencer", username="lily")
    headline = publish(client, lily, kind="headline", title="雅诗兰黛小棕瓶全新升级",
                       body="# 一篇讲透\n\n精华液的**成分**和用法。", tags=["护肤"])
    other = publish(client, lily, text="路过雅诗兰黛的专柜，买了别的")
    page = wait_for(lambda: len(search(client, q="雅诗兰黛")["items"]) == 2 and search(
        client, q="雅诗兰黛"))
    posts = [i for i in page["items"] if i["type"] == "post"]
    assert [i["post"]["id"] for i in posts] == [headline["id"], other["id"]]
    first = posts[0]
    assert first["highlight"]["title"] == "<em>雅诗兰黛</em>小棕瓶全新升级"
    assert first["post"]["author"]["username"] == "lily"  # the contract's Post JSON
    assert first["post"]["kind"] == "headline" and "body_html" in first["post"]
    assert isinstance(first["score"], float)
    assert page["total"] == 2 and page["next_cursor"] is None
    # the author's account is searchable from the first post on (names rank high)
    accounts = search(client, q="lily", type="accounts")["items"]
    assert [a["account"]["username"] for a in accounts] == ["lily"]
    assert accounts[0]["highlight"]["username"] == "<em>lily</em>"
    body = search(client, q="成分", type="headlines")["items"][0]
    assert body["highlight"]["body"] == "一篇讲透 精华液的<em>成分</em>和用法。"  # rendered, no markup


def test_type_author_tag_and_date_filters(client, index, make_account):
    lily = make_account("influencer", username="lily")
    shop = make_account("merchant", username="zara_official")
    a = publish(client, lily, text="秋季穿搭分享", tags=["穿搭"])
    b = publish(client, shop, text="ＺＡＲＡ 秋季新品", tags=["zara", "穿搭"])
    h = publish(client, shop, kind="headline", title="秋季新品发布", body="秋季系列")
    wait_found(client, h["id"], q="秋季")
    assert set(found_ids(client, q="秋季", type="posts")) == {a["id"], b["id"]}
    assert found_ids(client, q="秋季", type="headlines") == [h["id"]]
    assert found_ids(client, q="秋季", type="videos") == []
    assert set(found_ids(client, q="秋季", author="@zara_official")) == {b["id"], h["id"]}
    assert set(found_ids(client, q="秋季", author=shop.id)) == {b["id"], h["id"]}
    assert found_ids(client, q="秋季", tag="ZARA") == [b["id"]]
    today = utcnow().date().isoformat()
    assert len(found_ids(client, q="秋季", since=today)) == 3
    assert found_ids(client, q="秋季", until=today) == []
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    assert len(found_ids(client, q="秋季", until=tomorrow)) == 3
    assert found_ids(client, q="zara", type="accounts") == [shop.id]


def test_full_width_mixed_and_noisy_queries(client, index, make_account):
    shop = make_account("merchant", username="estee")
    post = publish(client, shop, text="Estee Lauder 雅诗兰黛 Night Repair 🔥🔥")
    wait_found(client, post["id"], q="雅诗兰黛")
    assert post["id"] in found_ids(client, q="雅诗兰黛 Estee Lauder")
    assert post["id"] in found_ids(client, q="ＥＳＴＥＥ　ＬＡＵＤＥＲ")
    assert post["id"] in found_ids(client, q="！！雅诗兰黛？？🎉")


def test_fan_posts_and_unpublished_posts_are_not_indexed(client, index, make_account):
    from feed import posts as feed_posts
    from feed.models import Post

    fan = make_account("fan")
    lily = make_account("influencer", username="lily")
    fan_post = publish(client, fan, text="粉丝的火锅日记")
    lily_post = publish(client, lily, text="博主的火锅日记")
    wait_found(client, lily_post["id"], q="火锅")
    assert fan_post["id"] not in found_ids(client, q="火锅")
    with client.application.app_context():
        feed_posts.set_status(Post.objects.get(id=lily_post["id"]), "pending_review")
    wait_gone(client, lily_post["id"], q="火锅")
    with client.application.app_context():
        feed_posts.set_status(Post.objects.get(id=lily_post["id"]), "published")
    wait_found(client, lily_post["id"], q="火锅")


def test_edit_and_delete_follow_the_post(client, index, make_account):
    lily = make_account("influencer", username="lily")
    post = publish(client, lily, text="周末去吃火锅")
    wait_found(client, post["id"], q="火锅")
    edited = client.patch(f"{API}/posts/{post['id']}", json={"text": "周末去吃烧烤"},
                          headers=lily.headers)
    assert edited.status_code == 200
    wait_found(client, post["id"], q="烧烤")
    assert found_ids(client, q="火锅") == []
    assert client.delete(f"{API}/posts/{post['id']}", headers=lily.headers).status_code == 204
    wait_gone(client, post["id"], q="烧烤")


def test_audience_rules_apply_to_search(client, index, make_account):
    mia = make_account("influencer", username="mia")
    her = make_account("fan", profile={"gender": "female", "interests": []})
    him = make_account("fan", profile={"gender": "male", "interests": ["Fitness"]})
    women = publish(client, mia, text="女生专属福利", audience={"gender": "female"})
    fitness = publish(client, mia, text="健身福利", audience={"interests_any": ["fitness"]})
    public = publish(client, mia, text="所有人的福利")
    wait_for(lambda: len(found_ids(client, mia, q="福利")) == 3)
    assert found_ids(client, q="福利") == [public["id"]]
    assert set(found_ids(client, her, q="福利")) == {public["id"], women["id"]}
    assert set(found_ids(client, him, q="福利")) == {public["id"], fitness["id"]}
    assert set(found_ids(client, mia, q="福利")) == {public["id"], women["id"], fitness["id"]}
    assert search(client, q="福利")["total"] == 1


def test_suspension_hides_account_and_posts_until_reinstated(client, index, make_account):
    from app.accounts.models import Account
    from app.accounts.service import set_suspended

    shop = make_account("merchant", username="badshop")
    post = publish(client, shop, text="限时秒杀活动")
    wait_found(client, post["id"], q="秒杀")
    with client.application.app_context():
        set_suspended(Account.objects.get(id=shop.id), True)
    wait_gone(client, post["id"], q="秒杀")
    assert found_ids(client, q="badshop") == []
    with client.application.app_context():
        set_suspended(Account.objects.get(id=shop.id), False)
    wait_found(client, post["id"], q="秒杀")
    wait_found(client, shop.id, q="badshop")


def test_cursor_pages_through_the_api(client, index, make_account):
    lily = make_account("influencer", username="lily")
    made = {publish(client, lily, text=f"口红试色 第{i}支")["id"] for i in range(7)}
    wait_for(lambda: search(client, q="口红")["total"] == 7)
    seen, cursor = [], None
    while True:
        params = {"q": "口红", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = search(client, **params)
        seen += [i["post"]["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and set(seen) == made


@pytest.mark.parametrize("params", [
    {},
    {"q": ""},
    {"q": "！！！🎉"},
    {"q": "x" * 201},
    {"q": "口红", "type": "music"},
    {"q": "口红", "limit": 0},
    {"q": "口红", "limit": 101},
    {"q": "口红", "cursor": "not-a-cursor"},
    {"q": "口红", "cursor": "eyJlIjoib3RoZXIifQ"},  # {"e":"other"}: valid base64, wrong engine
    {"q": "口红", "since": "yesterday"},
])
def test_bad_search_requests_are_400(client, index, params):
    response = client.get(f"{API}/search", query_string=params)
    assert response.status_code == 400
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_suggest(client, index, make_account):
    shop = make_account("merchant", username="zara_official")
    post = publish(client, shop, text="新品", tags=["zara秋冬", "穿搭"])
    wait_found(client, post["id"], q="新品")
    found = client.get(f"{API}/search/suggest", query_string={"q": "ZA"}).get_json()
    assert [a["username"] for a in found["accounts"]] == ["zara_official"]
    assert found["accounts"][0]["kind"] == "merchant"  # the contract's Account JSON
    assert found["tags"] == [{"tag": "zara秋冬", "count": 1}]
    assert client.get(f"{API}/search/suggest", query_string={"q": "穿"}).get_json()[
        "tags"] == [{"tag": "穿搭", "count": 1}]
    assert client.get(f"{API}/search/suggest", query_string={"q": " "}).status_code == 400
    assert client.get(f"{API}/search/suggest").status_code == 400


def test_engine_down_is_503_and_publishing_catches_up(client, index, make_account):
    from search import indexing
    from search.elastic import ElasticEngine

    lily = make_account("influencer", username="lily")
    app = client.application
    app.extensions["search"]["engine"] = ElasticEngine("http://127.0.0.1:9",
                                                       request_timeout=0.5)
    response = client.get(f"{API}/search", query_string={"q": "火锅"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "search_unavailable"
    assert client.get(f"{API}/search/suggest", query_string={"q": "火"}).status_code == 503
    health = client.get("/healthz")
    assert health.status_code == 503 and "search" in health.get_json()["down"]
    post = publish(client, lily, text="停机期间发布的火锅")  # publishing keeps working
    with app.app_context():
        wait_for(lambda: f"post:{post['id']}" in indexing.dirty_keys())
    app.extensions["search"]["engine"] = index  # the engine is back
    with app.app_context():
        indexing.sweep()
    assert found_ids(client, q="火锅") == [post["id"]]
    with app.app_context():
        assert f"post:{post['id']}" not in indexing.dirty_keys()
    assert client.get("/healthz").get_json()["components"]["search"]["status"] == "ok"


def test_traditional_and_simplified_find_each_other(client, index, make_account):
    shop = make_account("merchant", username="teashop")
    simplified = publish(client, shop, text="西湖龙井 明前新茶上市")
    traditional = publish(client, shop, text="正宗西湖龍井，茶香濃郁")
    wait_for(lambda: len(found_ids(client, q="龙井")) == 2)
    for q in ("龙井", "龍井"):
        page = search(client, q=q, type="posts")
        assert {i["post"]["id"] for i in page["items"]} == {simplified["id"], traditional["id"]}
        marks = {i["post"]["id"]: i["highlight"]["text"] for i in page["items"]}
        assert "<em>龍井</em>" in marks[traditional["id"]]  # the original text, marked
        assert "<em>龙井</em>" in marks[simplified["id"]]
    assert found_ids(client, q="茶香浓郁") == [traditional["id"]]


def test_english_words_find_their_forms(client, index, make_account):
    shop = make_account("merchant", username="brewbar")
    teas = publish(client, shop, text="Three new teas for autumn")
    brewing = publish(client, shop, text="Brewing guide: water at 85°C")
    teapot = publish(client, shop, text="A teapot is not a tea")  # found by tea, not brewing
    for post, q in ((teas, "autumn"), (brewing, "guide"), (teapot, "teapot")):
        wait_found(client, post["id"], q=q)
    assert teas["id"] in found_ids(client, q="tea")
    page = search(client, q="brewed", type="posts")
    assert [i["post"]["id"] for i in page["items"]] == [brewing["id"]]
    assert page["items"][0]["highlight"]["text"].startswith("<em>Brewing</em>")
    assert teas["id"] in found_ids(client, q="TEAS")
    marks = [i["highlight"]["text"] for i in search(client, q="tea", type="posts")["items"]]
    assert "Three new <em>teas</em> for autumn" in marks


def test_hashtags_in_q_search_tags(client, index, make_account):
    shop = make_account("merchant", username="zara_cn")
    tagged = publish(client, shop, text="新款连衣裙", tags=["穿搭"])
    mention = publish(client, shop, text="连衣裙的穿搭技巧")  # says 穿搭, not tagged
    other_tag = publish(client, shop, text="春季外套", tags=["穿搭", "外套"])
    traditional_tag = publish(client, shop, text="秋冬連衣裙", tags=["穿搭"])
    for post, q in ((tagged, "新款"), (mention, "技巧"), (other_tag, "春季"),
                    (traditional_tag, "秋冬")):
        wait_found(client, post["id"], q=q)
    assert set(found_ids(client, q="#穿搭")) == {tagged["id"], other_tag["id"],
                                                traditional_tag["id"]}
    assert set(found_ids(client, q="连衣裙 #穿搭")) == {tagged["id"], traditional_tag["id"]}
    assert found_ids(client, q="#穿搭 #外套") == [other_tag["id"]]
    assert found_ids(client, q="#穿搭", type="accounts") == []
    assert found_ids(client, q="#不存在的标签") == []
    bad = client.get(f"{API}/search", query_string={"q": "# ##"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_query"
