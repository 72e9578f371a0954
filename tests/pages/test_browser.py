"""The pages in a real headless Chromium: layout per viewer, XSS, login, dashboard, live
posts, video playback, campaigns, moderation. A screenshot of each page is saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from tests.support import wait_for

LAYOUT = {"default": ["posts", "videos", "campaigns"],
          "female": ["videos", "posts", "campaigns"],
          "male": ["campaigns", "posts", "videos"]}


def _at(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_account_page_layout_and_audience_per_viewer(tab, site, make_account, app):
    brand = make_account("merchant", username="lanvin_cn", display_name="浪凡 官方旗舰店",
                         bio="法式优雅,始于 1889。")
    site.call("PATCH", "/accounts/me", brand, json={"page_layout": LAYOUT})
    with app.app_context():
        from app.accounts import service

        service.update(service.get(brand.id), {"verified": True})
    everyone = site.post(brand, text="秋冬新品发布会,欢迎大家 🎉")
    dresses = site.post(brand, text="新款连衣裙上架", audience={"gender": "female"})
    suits = site.post(brand, text="男士西装定制", audience={"gender": "male"})
    campaign = site.call("POST", "/campaigns", brand, expect=201, json={
        "title": "穿出你的法式", "tag": "法式穿搭", "starts_at": _at(hours=-1),
        "ends_at": _at(days=7)})
    her = make_account("fan", profile={"gender": "female"})
    him = make_account("fan", profile={"gender": "male"})
    site.call("POST", f"/accounts/{brand.id}/follow", her)

    anonymous = tab()
    anonymous.open("/m/lanvin_cn")
    page = anonymous.page
    assert page.title() == "浪凡 官方旗舰店 (@lanvin_cn) · Fanhub"
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.get_attribute('meta[property="og:title"]', "content") == "浪凡 官方旗舰店 (@lanvin_cn)"
    assert page.get_attribute('meta[property="og:description"]', "content") == "法式优雅,始于 1889。"
    assert page.get_attribute('meta[property="og:url"]', "content").endswith("/m/lanvin_cn")
    assert page.inner_text("[data-testid=display-name]") == "浪凡 官方旗舰店"
    assert page.is_visible("[data-testid=verified]")
    assert page.get_attribute("[data-testid=followers-count]", "value") == "1"
    assert anonymous.sections() == ["posts", "videos", "campaigns"]
    assert anonymous.post_ids("posts") == [everyone["id"]]
    assert page.inner_text(f'[data-campaign-id="{campaign["id"]}"] h3') == "穿出你的法式"
    anonymous.shot("account-anonymous")

    female = tab(headers=her.headers)  # an app web view: bearer token
    female.open("/m/lanvin_cn")
    assert female.sections() == ["videos", "posts", "campaigns"]
    assert female.post_ids("posts") == [dresses["id"], everyone["id"]]
    female.shot("account-female-viewer")

    male = tab()  # a browser: signed in through /login, the session cookie
    male.login(him)
    male.open("/m/lanvin_cn")
    assert male.sections() == ["campaigns", "posts", "videos"]
    assert male.post_ids("posts") == [suits["id"], everyone["id"]]
    male.shot("account-male-viewer")

    # the account's own default applies to viewers without a gender
    site.call("PATCH", "/accounts/me", brand, json={"page_layout": {"default": ["videos"]}})
    anonymous.open("/m/lanvin_cn")
    assert anonymous.sections() == ["videos", "posts", "campaigns"]


def test_xss_payloads_stay_inert(tab, site, make_account):
    payload_name = '<img src=x onerror="window.__xss=1;alert(1)">'
    brand = make_account("influencer", username="xss_brand", display_name=payload_name,
                         bio='<script>window.__xss=2;alert(2)</script>')
    fan = make_account("fan", display_name="<svg onload=alert(3)>")
    post = site.post(brand, text='<script>window.__xss=4;alert(4)</script><b>粗</b>',
                     products=[{"title": '<img src=y onerror="alert(5)">', "url": "https://shop.cn/a"}])
    article = site.post(brand, kind="headline", title='"><script>alert(6)</script>',
                        body="**粗体** <script>alert(7)</script> <img src=z onerror=alert(8)> "
                             "[点我](javascript:alert(9)) <a href=\"javascript:alert(10)\">x</a>")
    site.call("POST", f"/posts/{post['id']}/comments", fan, expect=201,
              json={"text": '<img src=w onerror="alert(11)"> javascript:alert(12)'})

    t = tab()
    for path in ("/m/xss_brand", f"/m/xss_brand/p/{post['id']}", f"/m/xss_brand/p/{article['id']}"):
        t.open(path)
        page = t.page
        assert page.evaluate("window.__xss") is None
        # user text never becomes elements (the headline's sanitized HTML may keep an <img>,
        # without its handler: the [onerror] check below)
        assert page.eval_on_selector_all("img[src=x], img[src=y], img[src=w], svg",
                                         "n => n.length") == 0
        scripts = page.eval_on_selector_all("script", "n => n.map(s => s.getAttribute('src'))")
        assert scripts and all(src and src.startswith("/pages-static/") for src in scripts)
        assert page.eval_on_selector_all('a[href^="javascript:"]', "n => n.length") == 0
        assert page.eval_on_selector_all("[onerror], [onload]", "n => n.length") == 0
    t.open("/m/xss_brand")
    assert t.page.inner_text("[data-testid=display-name]") == payload_name
    assert payload_name in t.page.title()
    t.shot("xss-account")
    t.open(f"/m/xss_brand/p/{post['id']}")
    assert '<script>window.__xss=4;alert(4)</script><b>粗</b>' in t.page.inner_text("article.post .text")
    assert t.page.inner_text(".comment .text").startswith("<img src=w")
    assert t.page.inner_text(".comment .author") == "<svg onload=alert(3)>"
    t.shot("xss-post")
    t.open(f"/m/xss_brand/p/{article['id']}")
    assert t.page.inner_text(".article-body strong") == "粗体"  # sanitized HTML is kept
    assert t.page.eval_on_selector_all(".article-body script", "n => n.length") == 0


def test_login_and_logout_with_csrf(tab, site, make_account, app, server):
    brand = make_account("merchant", username="login_brand", display_name="登录品牌")
    t = tab()
    t.open("/login")
    t.page.fill("#username", "login_brand")
    t.page.fill("#password", "wrong-password")
    with t.page.expect_navigation():
        t.page.click("form.stack button[type=submit]")
    assert t.page.inner_text("[data-testid=login-error]") == "用户名或密码不正确。"
    t.shot("login-error")

    t.login(brand)
    assert t.page.url == server.url + "/dashboard"
    (cookie,) = [c for c in t.context.cookies() if c["name"] == "session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # http
    with app.app_context():
        from app.accounts.models import Token

        assert Token.objects(account=brand.id).count() == 2  # make_account's and the session's

    # a form posted without this session's CSRF token is refused
    forged = t.page.request.post(server.url + "/logout", form={"csrf_token": "forged"})
    assert forged.status == 400
    forged = t.page.request.post(server.url + "/login",
                                 form={"username": "login_brand", "password": "password123"})
    assert forged.status == 400
    t.open("/dashboard")  # still signed in
    assert t.page.is_visible("[data-testid=logout]")

    with t.page.expect_navigation():
        t.page.click("[data-testid=logout]")
    assert t.page.url == server.url + "/login"
    with app.app_context():
        from app.accounts.models import Token

        assert Token.objects(account=brand.id).count() == 1  # the session's token is revoked
    t.page.goto(server.url + "/dashboard")
    assert t.page.url.startswith(server.url + "/login?next=")
    t.shot("login")


def test_dashboard_charts_show_the_stats(tab, site, make_account, http, server):
    brand = make_account("merchant", username="dash_brand", display_name="数据品牌")
    fans = [make_account("fan") for _ in range(3)]
    first = site.post(brand, text="第一条", products=[{"title": "小棕瓶", "url": "https://shop.cn/1"}])
    second = site.post(brand, text="第二条")
    for fan in fans:
        site.call("POST", f"/accounts/{brand.id}/follow", fan)
        http.post(f"{http.base}/posts/{first['id']}/view", headers=fan.headers)
    site.call("POST", f"/posts/{first['id']}/like", fans[0])
    site.call("POST", f"/posts/{first['id']}/comments", fans[1], expect=201, json={"text": "好用"})
    site.call("POST", f"/posts/{second['id']}/like", fans[2])
    for _ in range(2):
        http.post(f"{http.base}/posts/{first['id']}/products/0/click", headers=fans[0].headers)
    http.post(f"{http.base}/posts/{second['id']}/view", headers=fans[0].headers)
    campaign = site.call("POST", "/campaigns", brand, expect=201, json={
        "title": "晒单有礼", "tag": "晒单", "starts_at": _at(hours=-1), "ends_at": _at(days=3)})

    t = tab()
    t.login(brand)
    t.open("/dashboard")
    stats = site.call("GET", "/accounts/me/stats", brand)
    page = t.page

    def values(chart: str) -> list[int]:
        return page.eval_on_selector_all(f'[data-chart="{chart}"] .mark',
                                         "n => n.map(m => Number(m.dataset.value))")

    def total(key: str) -> int:
        return int(page.get_attribute(f'[data-total="{key}"]', "value"))

    assert values("followers") == [d["new_followers"] for d in stats["followers_per_day"]]
    assert values("followers")[-1] == 3
    assert values("views") == [d["views"] for d in stats["views_per_day"]]
    assert values("views")[-1] == 4
    assert values("post-views") == [p["views"] for p in stats["posts"]] == [1, 3]
    assert values("post-engagement") == [p["likes"] + p["comments"] for p in stats["posts"]] == [1, 2]
    assert values("post-clicks") == [p["product_clicks"] for p in stats["posts"]] == [0, 2]
    for key in ("followers", "new_followers", "views", "likes", "comments", "product_clicks"):
        assert total(key) == stats["totals"][key], key
    row = f'[data-table="campaigns"] tr[data-campaign-id="{campaign["id"]}"]'
    figures = site.call("GET", f"/campaigns/{campaign['id']}/stats", brand)
    for col in ("entries", "participants", "new_followers", "views"):
        assert int(page.inner_text(f'{row} [data-col="{col}"]')) == figures[col], col
    assert figures["new_followers"] == 3
    t.shot("dashboard")

    fan_tab = tab()
    fan_tab.login(fans[0])
    fan_tab.open("/dashboard", expect=403)


def test_new_post_appears_live_without_reload(tab, site, make_account):
    brand = make_account("merchant", username="live_brand", display_name="直播品牌")
    site.post(brand, text="旧的动态")
    her = make_account("fan", profile={"gender": "female"})

    viewers = {"anonymous": tab(), "female": tab(), "web-view": tab(headers=her.headers)}
    viewers["female"].login(her)  # the socket knows her through the session cookie
    for t in viewers.values():
        t.open("/m/live_brand")
        t.page.wait_for_selector("html[data-live=subscribed]", state="attached")
        t.page.evaluate("window.__notReloaded = true")
    fresh = site.post(brand, text="刚刚发布 <b>不是粗体</b>")
    targeted = site.post(brand, text="只给女生看", audience={"gender": "female"})
    for t in viewers.values():
        t.page.wait_for_selector(f'[data-live="posts"] article[data-post-id="{fresh["id"]}"]')
        text = t.page.inner_text(f'article[data-post-id="{fresh["id"]}"] .text')
        assert text == "刚刚发布 <b>不是粗体</b>"
    female = viewers["female"]
    female.page.wait_for_selector(f'article[data-post-id="{targeted["id"]}"]')
    assert all(t.page.evaluate("window.__notReloaded") is True for t in viewers.values())
    assert female.post_ids("posts")[:2] == [targeted["id"], fresh["id"]]
    female.shot("account-live-post")
    # the anonymous viewer never gets the post meant for women
    assert viewers["anonymous"].page.query_selector(
        f'article[data-post-id="{targeted["id"]}"]') is None


def test_video_plays_from_hls(tab, site, make_account):
    brand = make_account("merchant", username="video_brand", display_name="视频品牌")
    post = site.video(brand, text="新品视频")
    assert post["status"] == "published"
    t = tab()
    t.open(f"/m/video_brand/p/{post['id']}")
    page = t.page
    assert page.get_attribute('meta[property="og:type"]', "content") == "video.other"
    assert page.get_attribute('meta[property="og:image"]', "content").endswith("poster.jpg")
    video = "article.post video.player"
    assert page.get_attribute(video, "poster") == urlsplit(post["media"][0]["poster_url"]).path
    page.wait_for_selector(f"{video}[data-player='hls.js']", state="attached")
    page.evaluate(f"document.querySelector('{video}').muted = true")
    # the first play attaches hls.js (which restarts the element: that first play() rejects)
    page.evaluate(f"document.querySelector('{video}').play().catch(() => null)")
    # (wait_for_function would evaluate a string: the page's CSP rightly forbids that)
    wait_for(lambda: page.evaluate(f"document.querySelector('{video}').currentTime") > 0.5)
    assert page.get_attribute(video, "data-attached") == "true"
    assert page.evaluate(f"document.querySelector('{video}').currentSrc").startswith("blob:")
    t.shot("post-video")
    # the player counted one unique view for the page's device
    wait_for(lambda: site.call("GET", f"/posts/{post['id']}")["view_count"] == 1)
    t.open("/m/video_brand")
    assert t.post_ids("videos") == [post["id"]]


def test_campaign_gallery_page(tab, site, make_account, http, app):
    brand = make_account("merchant", username="camp_brand", display_name="活动品牌")
    campaign = site.call("POST", "/campaigns", brand, expect=201, json={
        "title": "夏日挑战", "description": "拍视频赢好礼", "tag": "夏日",
        "starts_at": _at(hours=-1), "ends_at": _at(days=3)})
    fans = [make_account("fan"), make_account("fan")]
    entries = [site.video(fan, text=f"参赛 {i}", campaign_id=campaign["id"])
               for i, fan in enumerate(fans)]
    assert {e["status"] for e in entries} == {"pending_review"}
    t = tab()
    t.open(f"/c/{campaign['id']}")
    assert t.page.inner_text("[data-testid=entries-count]") == "0"
    for entry in entries:
        site.publish(entry["id"])
    for n in range(2):
        http.post(f"{http.base}/posts/{entries[0]['id']}/view", headers={"X-Device-Id": f"d{n}"})
    with app.app_context():
        from feed.interactions import flush_views

        flush_views()
    t.open(f"/c/{campaign['id']}")
    assert t.page.title() == "夏日挑战 · 活动品牌 · Fanhub"
    assert t.page.inner_text("[data-testid=entries-count]") == "2"
    assert t.post_ids("entries") == [entries[1]["id"], entries[0]["id"]]
    t.shot("campaign-new")
    t.open(f"/c/{campaign['id']}?sort=views")
    assert t.post_ids("entries") == [entries[0]["id"], entries[1]["id"]]
    t.shot("campaign-views")


def test_moderation_page_highlights_and_decides(tab, site, make_account, http):
    mod = make_account("fan", roles=("moderator",), username="mod_page")
    site.call("PUT", "/moderation/terms", mod, json={"block": [], "review": ["代购"]})
    fan = make_account("fan", username="mod_fan")
    held = site.video(fan, text="正品代购,私聊 <b>我</b>")
    assert held["status"] == "pending_review"

    t = tab()
    t.login(mod)
    assert t.page.url.endswith("/admin/moderation")
    item = f'.mod-item[data-target-id="{held["id"]}"]'
    assert t.page.inner_text(f'{item} [data-field="text"] mark') == "代购"
    assert "<b>我</b>" in t.page.inner_text(f'{item} [data-field="text"]')
    assert t.page.get_attribute(f"{item} img.poster", "src") == \
        urlsplit(held["media"][0]["poster_url"]).path
    assert {"terms", "fan_video"} <= set(t.page.eval_on_selector_all(
        f"{item} .reason", "n => n.map(r => r.dataset.reason)"))
    t.shot("moderation-queue")
    t.page.fill(f"{item} input[name=reason]", "不是代购")
    with t.page.expect_navigation():
        t.page.click(f"{item} button[value=approve]")
    assert t.page.inner_text("[data-testid=notice]") == "已通过。"
    assert t.page.query_selector(item) is None
    assert site.call("GET", f"/posts/{held['id']}")["status"] == "published"
    assert t.page.inner_text('[data-table="audit"] tbody tr:first-child') .count("不是代购") == 1
    t.shot("moderation-decided")

    fan_tab = tab()
    fan_tab.login(fan)
    fan_tab.open("/admin/moderation", expect=403)


def _image(site, actor, tmp_path, name: str, size: str, color: str) -> str:
    """An image made by ffmpeg, uploaded through the API, ready."""
    import subprocess

    import requests

    path = tmp_path / f"{name}.png"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c={color}:s={size}", "-frames:v", "1", str(path)], check=True,
                   timeout=60)
    with open(path, "rb") as fh:
        r = requests.post(site.base + "/media", headers=actor.headers,
                          files={"file": (path.name, fh, "image/png")}, timeout=60)
    assert r.status_code in (201, 202), r.text
    media_id = r.json()["id"]
    wait_for(lambda: site.call("GET", f"/media/{media_id}", actor)["status"] == "ready",
             timeout=60)
    return media_id


def test_account_page_worth_visiting_at_phone_width(tab, site, make_account, tmp_path):
    brand = make_account("merchant", username="west_lake_tea", display_name="西湖茶社",
                         bio="明前龙井,一年只等这一季。\n杭州 · 龙井村")
    avatar = _image(site, brand, tmp_path, "avatar", "240x240", "0x2e7d32")
    banner = _image(site, brand, tmp_path, "banner", "780x240", "0xc8e6c9")
    cover = _image(site, brand, tmp_path, "cover", "640x480", "0x8d6e63")
    site.call("PATCH", "/accounts/me", brand, json={"avatar_media_id": avatar,
                                                     "banner_media_id": banner})
    green = site.post(brand, text="今年第一批明前龙井到了,豆香清新。", tags=["绿茶", "龙井"])
    black = site.post(brand, text="正山小种,适合秋冬。", tags=["红茶"])
    article = site.post(brand, kind="headline", title="一杯好龙井的五个讲究",
                        body="从**水温**到器具,一次讲清楚。\n\n85°C 的水最能保留鲜爽。",
                        media_ids=[cover], tags=["绿茶"])
    site.post(brand, text="女生专享的花茶礼盒", tags=["花茶"], audience={"gender": "female"})
    fan = make_account("fan", profile={"gender": "male", "interests": ["绿茶"]})

    anonymous = tab()
    anonymous.open("/m/west_lake_tea")
    page = anonymous.page
    assert page.is_visible("[data-testid=banner]") and page.is_visible("[data-testid=avatar]")
    assert "一年只等这一季" in page.inner_text(".bio")
    assert page.get_attribute("[data-testid=posts-count]", "value") == "3"  # not the hidden one
    card = page.locator(f'article[data-post-id="{article["id"]}"]')
    assert card.locator("img.cover").count() == 1
    assert "从水温到器具" in card.locator("[data-testid=excerpt]").inner_text()
    assert page.locator("[data-testid=like]").count() == 0  # signed-out: counts only
    assert page.locator("[data-recommended]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
    anonymous.shot("account-page-anonymous-390")

    signed_in = tab(headers=fan.headers)
    signed_in.open("/m/west_lake_tea")
    page = signed_in.page
    picks = page.eval_on_selector_all("[data-recommended] article.post",
                                      "nodes => nodes.map(n => n.dataset.postId)")
    assert set(picks[:2]) == {green["id"], article["id"]} and picks[-1] == black["id"]
    assert "因为你喜欢 绿茶" in page.inner_text("[data-recommended]")
    assert page.get_attribute("[data-testid=posts-count]", "value") == "3"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    signed_in.shot("account-page-fan-390")
    with page.expect_navigation():
        page.click(f'[data-section="posts"] article[data-post-id="{green["id"]}"] '
                   "[data-testid=like]")
    button = page.locator(f'[data-section="posts"] article[data-post-id="{green["id"]}"] '
                          "[data-testid=like]")
    assert button.get_attribute("aria-pressed") == "true" and "已赞 1" in button.inner_text()
    with page.expect_navigation():
        page.click(f'[data-section="posts"] article[data-post-id="{green["id"]}"] '
                   "[data-testid=comment]")
    page.fill("#comment-text", "已下单,期待!")
    with page.expect_navigation():
        page.click("#comment-form button[type=submit]")
    assert "已下单,期待!" in page.inner_text(".comment-list")
    signed_in.shot("post-page-fan-390")
    with page.expect_navigation():
        page.click(f'article[data-post-id="{green["id"]}"] a.tag >> nth=0')
    assert page.inner_text("[data-testid=tag]") == "#绿茶"
    assert {green["id"], article["id"]} <= set(page.eval_on_selector_all(
        "article.post", "nodes => nodes.map(n => n.dataset.postId)"))
    signed_in.shot("tag-page-390")
