"""Posts: kinds, headlines sanitized, products, edits, deletes, likes, comments, views."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support import wait_for


def test_post_kinds_and_contract_fields(feed, make_account):
    brand = make_account("merchant")
    post = feed.post(brand, text="秋冬新品 #穿搭", tags=["#穿搭", "New", "new"])
    assert post["status"] == "published" and post["kind"] == "post"
    assert post["tags"] == ["穿搭", "new"]
    assert set(post) >= {"id", "kind", "author", "text", "title", "body_html", "media", "tags",
                         "audience", "products", "campaign_id", "status", "like_count",
                         "comment_count", "view_count", "liked", "created_at", "edited_at"}
    assert post["author"]["id"] == brand.id and post["created_at"].endswith("Z")
    feed.post(brand, expect=400, kind="headline", text="no title")
    feed.post(brand, expect=400, kind="video", text="no media")
    feed.post(brand, expect=400, kind="post", text="   ")
    feed.post(brand, expect=400, kind="story", text="x")
    feed.post(brand, expect=400, text={"$ne": None})


def test_headline_markdown_is_sanitized(feed, make_account):
    author = make_account("influencer")
    body = ("# 标题\n\n**粗体** <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n"
            "[click](javascript:alert(1)) [ok](https://example.com)")
    post = feed.post(author, kind="headline", title="雅诗兰黛测评", body=body)
    html = post["body_html"]
    assert "<strong>粗体</strong>" in html and "<h1>标题</h1>" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert 'href="https://example.com"' in html


def test_products_must_be_http_links_and_count_clicks(feed, make_account, http):
    brand, fan = make_account("merchant"), make_account("fan")
    for url in ("javascript:alert(1)", "ftp://x.com/a", "not a url", "data:text/html,hi"):
        feed.post(brand, expect=400, text="buy", products=[{"title": "A", "url": url}])
    feed.post(brand, expect=400, text="buy", products=[{"title": "A", "url": "https://a.cn"}] * 10)
    feed.post(fan, expect=400, text="buy", products=[{"title": "A", "url": "https://a.cn"}])
    post = feed.post(brand, text="buy", products=[{"title": "小棕瓶", "url": "https://shop.cn/1",
                                                   "price": "¥590"}])
    assert post["products"][0]["price"] == "¥590"
    for _ in range(3):
        r = http.post(f"{http.base}/posts/{post['id']}/products/0/click", headers=fan.headers)
        assert r.status_code == 204
    assert http.post(f"{http.base}/posts/{post['id']}/products/5/click").status_code == 404
    stats = http.get(f"{http.base}/accounts/me/stats", headers=brand.headers).json()
    assert stats["posts"][0]["product_clicks"] == 3


def test_edit_and_others_cannot(feed, make_account, http):
    author, other = make_account("influencer"), make_account("influencer")
    post = feed.post(author, text="first")
    r = http.patch(f"{http.base}/posts/{post['id']}", headers=other.headers, json={"text": "hacked"})
    assert r.status_code == 403
    r = http.patch(f"{http.base}/posts/{post['id']}", headers=author.headers,
                   json={"text": "second", "tags": ["edit"]})
    assert r.status_code == 200 and r.json()["text"] == "second" and r.json()["edited_at"]
    assert http.get(f"{http.base}/posts/{post['id']}").json()["text"] == "second"
    assert http.delete(f"{http.base}/posts/{post['id']}", headers=other.headers).status_code == 403


def test_editing_or_deleting_a_post_one_may_not_see_is_404(feed, make_account, http):
    """Issue 15: PATCH on a post the caller may not see answered 403, which told that it
    exists; 403 stays for a post the caller sees but does not own."""
    author = make_account("influencer")
    man = make_account("fan", profile={"gender": "male"})
    woman = make_account("fan", profile={"gender": "female"})
    moderator = make_account("fan", roles=("moderator",))
    post = feed.post(author, text="for women", audience={"gender": "female"})
    url = f"{http.base}/posts/{post['id']}"
    assert http.get(url, headers=man.headers).status_code == 404
    for method in (http.patch, http.delete):
        r = method(url, headers=man.headers, json={"text": "hacked"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
        assert method(url, headers=woman.headers, json={"text": "hacked"}).status_code == 403
    assert http.patch(url, headers=moderator.headers, json={"text": "x"}).status_code == 403
    comment = http.post(f"{url}/comments", headers=woman.headers, json={"text": "hers"}).json()
    gone = f"{http.base}/comments/{comment['id']}"
    assert http.delete(gone, headers=man.headers).status_code == 404
    assert http.delete(gone, headers=make_account("fan", profile={"gender": "female"})
                       .headers).status_code == 403
    missing = f"{http.base}/posts/{'0' * 24}"
    assert http.patch(missing, headers=man.headers, json={"text": "x"}).status_code == 404
    assert http.get(url, headers=woman.headers).json()["text"] == "for women"


def test_delete_is_final_and_vanishes_from_feeds(feed, make_account, http):
    fan, brand = make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    keep, gone = feed.post(brand, text="keep"), feed.post(brand, text="gone")
    feed.wait_in_home(fan, gone["id"])
    assert http.delete(f"{http.base}/posts/{gone['id']}", headers=brand.headers).status_code == 204
    assert http.get(f"{http.base}/posts/{gone['id']}").status_code == 404
    assert feed.home_ids(fan) == [keep["id"]]
    page = http.get(f"{http.base}/accounts/{brand.id}/posts").json()
    assert [p["id"] for p in page["items"]] == [keep["id"]]
    assert http.delete(f"{http.base}/posts/{gone['id']}", headers=brand.headers).status_code == 404


def test_likes_are_idempotent_and_exact_under_concurrency(feed, make_account, http, server):
    brand = make_account("merchant")
    post = feed.post(brand, text="like me")
    fans = [make_account("fan") for _ in range(10)]
    url = f"{server.url}/api/v1/posts/{post['id']}/like"

    def like_twice(fan):
        with requests.Session() as s:
            return [s.post(url, headers=fan.headers).json() for _ in range(2)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(like_twice, fans))
    assert all(r[0]["liked"] and r[1]["liked"] for r in results)
    got = http.get(f"{http.base}/posts/{post['id']}", headers=fans[0].headers).json()
    assert got["like_count"] == 10 and got["liked"] is True
    assert http.delete(url, headers=fans[0].headers).json() == {"liked": False, "like_count": 9}
    assert http.delete(url, headers=fans[0].headers).json() == {"liked": False, "like_count": 9}
    notes = http.get(f"{http.base}/notifications", headers=brand.headers).json()
    assert notes["unread_count"] == 10


def test_a_change_made_from_an_older_copy_keeps_the_counts(feed, make_account, http, app):
    """A post document read before a like (a moderator's decision, an edit in progress) must
    not put its older counts back into the cache when it is saved."""
    from feed import posts
    from feed.models import Post

    brand, fan = make_account("merchant"), make_account("fan")
    post = feed.post(brand, text="新品")
    url = f"{http.base}/posts/{post['id']}"
    with app.app_context():
        older = Post.objects(id=post["id"]).first()
    assert http.post(url + "/like", headers=fan.headers).json()["like_count"] == 1
    assert http.post(url + "/comments", json={"text": "好"}, headers=fan.headers).ok
    with app.app_context():
        posts.set_status(older, "published")
    current = http.get(url).json()
    assert (current["like_count"], current["comment_count"]) == (1, 1)
    assert http.delete(url + "/like", headers=fan.headers).json()["like_count"] == 0


def test_comments_paged_and_deletable(feed, make_account, http):
    brand, fan, mod = make_account("merchant"), make_account("fan"), make_account("fan",
                                                                                roles=("moderator",))
    post = feed.post(brand, text="说说你的看法")
    ids = []
    for i in range(5):
        r = http.post(f"{http.base}/posts/{post['id']}/comments", headers=fan.headers,
                      json={"text": f"评论 {i} <b>bold</b>"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    assert r.json()["text"] == "评论 4 <b>bold</b>"  # stored as text; pages escape it
    page1 = http.get(f"{http.base}/posts/{post['id']}/comments", params={"limit": 3}).json()
    page2 = http.get(f"{http.base}/posts/{post['id']}/comments",
                     params={"limit": 3, "cursor": page1["next_cursor"]}).json()
    assert [c["id"] for c in page1["items"] + page2["items"]] == ids[::-1]
    assert page2["next_cursor"] is None
    assert http.delete(f"{http.base}/comments/{ids[0]}", headers=brand.headers).status_code == 403
    assert http.delete(f"{http.base}/comments/{ids[0]}", headers=fan.headers).status_code == 204
    assert http.delete(f"{http.base}/comments/{ids[1]}", headers=mod.headers).status_code == 204
    assert http.get(f"{http.base}/posts/{post['id']}").json()["comment_count"] == 3
    r = http.post(f"{http.base}/posts/{post['id']}/comments", headers=fan.headers, json={"text": ""})
    assert r.status_code == 400


def test_views_count_unique_viewers(feed, make_account, http, app):
    brand, fan = make_account("merchant"), make_account("fan")
    post = feed.post(brand, text="watch")
    url = f"{http.base}/posts/{post['id']}/view"
    for _ in range(3):
        assert http.post(url, headers=fan.headers).status_code == 204
    for device in ("phone-a", "phone-b", "phone-a"):
        assert http.post(url, headers={"X-Device-Id": device}).status_code == 204
    assert http.post(url).status_code == 400
    assert http.get(f"{http.base}/posts/{post['id']}").json()["view_count"] == 3
    with app.app_context():
        from feed.interactions import flush_views
        from feed.models import Post

        flush_views()
        assert Post.objects(id=post["id"]).first().view_count == 3
    app.extensions["redis"].delete(f"pv:{post['id']}", f"pc:{post['id']}", f"post:{post['id']}")
    assert http.get(f"{http.base}/posts/{post['id']}").json()["view_count"] == 3


def test_stats_agree_with_the_api(feed, make_account, http):
    brand = make_account("merchant")
    fans = [make_account("fan") for _ in range(3)]
    post = feed.post(brand, text="stats")
    for fan in fans:
        feed.follow(fan, brand)
        http.post(f"{http.base}/posts/{post['id']}/like", headers=fan.headers)
        http.post(f"{http.base}/posts/{post['id']}/view", headers=fan.headers)
    http.post(f"{http.base}/posts/{post['id']}/comments", headers=fans[0].headers, json={"text": "hi"})
    stats = http.get(f"{http.base}/accounts/me/stats", params={"days": 7},
                     headers=brand.headers).json()
    api_post = http.get(f"{http.base}/posts/{post['id']}").json()
    row = stats["posts"][0]
    assert (row["views"], row["likes"], row["comments"]) == (
        api_post["view_count"], api_post["like_count"], api_post["comment_count"]) == (3, 3, 1)
    assert stats["followers_per_day"][-1]["new_followers"] == 3
    assert stats["views_per_day"][-1]["views"] == 3
    assert stats["totals"]["followers"] == 3 and len(stats["followers_per_day"]) == 7
    assert http.get(f"{http.base}/accounts/me/stats", headers=fans[0].headers).status_code == 403
    assert http.get(f"{http.base}/accounts/me/stats", params={"days": 0},
                    headers=brand.headers).status_code == 400


def test_channels(feed, make_account, http):
    star, brand = make_account("influencer"), make_account("merchant")
    a = feed.post(star, text="influencer post")
    h = feed.post(brand, kind="headline", title="深度", body="正文")
    feed.post(brand, text="merchant post")
    assert [p["id"] for p in http.get(f"{http.base}/channels/influencers").json()["items"]] == [a["id"]]
    assert [p["id"] for p in http.get(f"{http.base}/channels/headlines").json()["items"]] == [h["id"]]
    assert http.get(f"{http.base}/channels/videos").json()["items"] == []
    assert http.get(f"{http.base}/channels/other").status_code == 404
    http.delete(f"{http.base}/posts/{a['id']}", headers=star.headers)
    assert wait_for(lambda: http.get(f"{http.base}/channels/influencers").json()["items"] == [])
