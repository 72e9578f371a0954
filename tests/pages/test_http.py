"""Pages over plain HTTP: 404s, headers, cookies, CSRF, escaping, who the viewer is."""

from __future__ import annotations

import re

import requests

from app.pages.charts import bars, hbars, line
from app.pages.layout import section_order


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sections(html: str) -> list[str]:
    return re.findall(r'<section[^>]*data-section="(\w+)"', html)


def test_unknown_suspended_and_fan_accounts_get_a_404_page(server, make_account, http):
    mod = make_account("fan", roles=("moderator",))
    brand = make_account("merchant")
    fan = make_account("fan")
    post = http.post(http.base + "/posts", json={"kind": "post", "text": "hi"},
                     headers=brand.headers).json()
    for path in ("/m/nobody_here", "/m/a%3Cb", f"/m/{fan.username}", "/c/nope", f"/c/{'0' * 24}",
                 f"/m/{brand.username}/p/{'0' * 24}", f"/m/{brand.username}/p/x",
                 f"/m/{fan.username}/p/{post['id']}"):
        r = requests.get(server.url + path)
        assert r.status_code == 404, path
        assert r.headers["Content-Type"].startswith("text/html")
        assert "页面不存在" in r.text and 'lang="zh-CN"' in r.text
        assert "Content-Security-Policy" in r.headers
    assert requests.get(f"{server.url}/m/{brand.username}").status_code == 200
    assert requests.get(f"{server.url}/m/{brand.username.upper()}").status_code == 200
    r = http.post(f"{http.base}/moderation/accounts/{brand.id}/suspend", headers=mod.headers,
                  json={"reason": "fraud"})
    assert r.status_code == 200, r.text
    for path in (f"/m/{brand.username}", f"/m/{brand.username}/p/{post['id']}"):
        assert requests.get(server.url + path).status_code == 404


def test_headers_and_open_graph(server, make_account, http):
    brand = make_account("merchant", display_name="雅诗兰黛 Estée", bio="小棕瓶 & 更多")
    post = http.post(http.base + "/posts", headers=brand.headers,
                     json={"kind": "headline", "title": "秋冬护肤指南", "body": "**保湿** 很重要"}).json()
    r = requests.get(f"{server.url}/m/{brand.username}")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    # no inline script, style or event handler: the CSP would block them
    assert re.search(r"<script(?![^>]*\ssrc=)", r.text) is None
    assert re.search(r"<[^>]+\s(on\w+|style)=", r.text) is None
    assert "<title>雅诗兰黛 Estée (@" in r.text
    assert '<meta property="og:description" content="小棕瓶 &amp; 更多">' in r.text
    r = requests.get(f"{server.url}/m/{brand.username}/p/{post['id']}")
    assert "<title>秋冬护肤指南 · 雅诗兰黛 Estée · Fanhub</title>" in r.text
    assert '<meta property="og:type" content="article">' in r.text
    assert "<strong>保湿</strong>" in r.text
    static = requests.get(server.url + "/pages-static/vendor/hls.js/hls.light.min.js")
    assert static.status_code == 200 and "javascript" in static.headers["Content-Type"]


def test_login_form_csrf_cookie_flags_and_next(app, make_account):
    brand = make_account("merchant", username="flags_brand")
    client = app.test_client()
    page = client.get("/login?next=/m/flags_brand")
    token = _csrf(page.get_data(as_text=True))
    no_csrf = client.post("/login", data={"username": "flags_brand", "password": "password123"})
    assert no_csrf.status_code == 400
    r = client.post("/login", data={"username": "flags_brand", "password": "password123",
                                    "csrf_token": token, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["Location"] == "/dashboard"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    secure = app.test_client()
    page = secure.get("/login", base_url="https://shop.example")
    token = _csrf(page.get_data(as_text=True))
    r = secure.post("/login", base_url="https://shop.example", data={
        "username": "flags_brand", "password": "password123", "csrf_token": token,
        "next": "/m/flags_brand"})
    assert r.status_code == 303 and r.headers["Location"] == "/m/flags_brand"
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]

    wrong = app.test_client()
    token = _csrf(wrong.get("/login").get_data(as_text=True))
    r = wrong.post("/login", data={"username": "flags_brand", "password": "nope",
                                   "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码不正确" in r.get_data(as_text=True)
    assert brand.username in r.get_data(as_text=True)  # the form keeps the username


def test_viewer_from_bearer_header_and_blocks(server, make_account, http):
    brand = make_account("influencer")
    http.patch(http.base + "/accounts/me", headers=brand.headers,
               json={"page_layout": {"male": ["campaigns", "videos", "posts"]}})
    http.post(http.base + "/posts", headers=brand.headers, json={"kind": "post", "text": "大家好"})
    him = make_account("fan", profile={"gender": "male"})
    page = requests.get(f"{server.url}/m/{brand.username}", headers=him.headers)
    assert _sections(page.text) == ["campaigns", "videos", "posts"]
    assert "大家好" in page.text
    bad = requests.get(f"{server.url}/m/{brand.username}", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 200 and _sections(bad.text) == ["posts", "videos", "campaigns"]
    http.post(f"{http.base}/accounts/{him.id}/block", headers=brand.headers)
    page = requests.get(f"{server.url}/m/{brand.username}", headers=him.headers)
    assert "大家好" not in page.text


def test_dashboard_and_moderation_need_the_right_viewer(server, make_account):
    fan, brand = make_account("fan"), make_account("merchant")
    for path in ("/dashboard", "/admin/moderation"):
        r = requests.get(server.url + path, allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"].startswith("/login?next=")
    assert requests.get(server.url + "/dashboard", headers=fan.headers).status_code == 403
    assert requests.get(server.url + "/dashboard", headers=brand.headers).status_code == 200
    assert requests.get(server.url + "/admin/moderation", headers=brand.headers).status_code == 403
    r = requests.post(f"{server.url}/admin/moderation/{'0' * 24}/decision", headers=brand.headers,
                      data={"action": "approve"})
    assert r.status_code == 403


def test_section_order_and_chart_geometry():
    assert section_order(None, "female") == ["posts", "videos", "campaigns"]
    layout = {"default": ["campaigns"], "female": ["videos", "posts", "campaigns"]}
    assert section_order(layout, "female") == ["videos", "posts", "campaigns"]
    assert section_order(layout, "male") == ["campaigns", "posts", "videos"]
    assert section_order({"female": ["videos", "videos", "bogus"]}, "female") == [
        "videos", "posts", "campaigns"]
    chart = bars([("2026-11-01", 0), ("2026-11-02", 5), ("2026-11-03", 2)])
    assert [m.value for m in chart.marks] == [0, 5, 2] and chart.total == 7
    assert chart.marks[1].h > chart.marks[2].h > chart.marks[0].h == 0
    assert [label for _, label in chart.labels][-1] == "11-03"
    assert line([("2026-11-01", 1)]).points
    assert hbars([]).marks == [] and hbars([("a", 3)]).marks[0].w > 0


def _signed_in(app, actor):
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": actor.username, "password": "password123",
                                    "csrf_token": token})
    assert r.status_code == 303
    return client


def test_follow_button_and_login_rate_limit(app, make_account):
    brand, fan = make_account("merchant"), make_account("fan")
    client = _signed_in(app, fan)
    page = client.get(f"/m/{brand.username}").get_data(as_text=True)
    assert "关注</button>" in page
    assert client.post(f"/m/{brand.username}/follow", data={"action": "follow"}).status_code == 400
    r = client.post(f"/m/{brand.username}/follow",
                    data={"action": "follow", "csrf_token": _csrf(page)})
    assert r.status_code == 303
    page = client.get(f"/m/{brand.username}").get_data(as_text=True)
    assert "已关注" in page and 'value="1">1</data> 粉丝' in page
    anonymous = app.test_client().post(f"/m/{brand.username}/follow", data={"action": "follow"})
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")

    # the form shares the API's login limits (per address and per username tried)
    saved = app.config.get("RATELIMIT_SCALE")
    app.config.update(RATELIMIT_LOGIN_USER="3/minute", RATELIMIT_SCALE=1)
    try:
        guesser = app.test_client()
        token = _csrf(guesser.get("/login").get_data(as_text=True))
        codes = [guesser.post("/login", data={"username": brand.username, "password": f"guess{i}",
                                              "csrf_token": token}).status_code for i in range(4)]
        assert codes == [401, 401, 401, 429]
        for _ in range(3):
            assert guesser.get("/login").status_code == 200  # reading the form is not limited
        other = guesser.post("/login", data={"username": fan.username, "password": "x",
                                             "csrf_token": token})
        assert other.status_code == 401
    finally:
        app.config.update(RATELIMIT_LOGIN_USER=None, RATELIMIT_SCALE=saved)


def test_tags_link_to_their_tag_page(server, make_account, http):
    brand = make_account("merchant")
    she = make_account("fan", profile={"gender": "female", "interests": []})
    post = http.post(http.base + "/posts", json={"kind": "post", "text": "新款", "tags": ["穿搭"]},
                     headers=brand.headers).json()
    hidden = http.post(http.base + "/posts", headers=brand.headers, json={
        "kind": "post", "text": "女生专属", "tags": ["穿搭"], "audience": {"gender": "female"}}).json()
    account_page = requests.get(f"{server.url}/m/{brand.username}").text
    assert 'href="/t/%E7%A9%BF%E6%90%AD"' in account_page  # the card's tag is a link
    post_page = requests.get(f"{server.url}/m/{brand.username}/p/{post['id']}").text
    assert 'href="/t/%E7%A9%BF%E6%90%AD"' in post_page
    r = requests.get(f"{server.url}/t/%E7%A9%BF%E6%90%AD")
    assert r.status_code == 200 and "#穿搭" in r.text
    assert f'data-post-id="{post["id"]}"' in r.text and hidden["id"] not in r.text
    mine = requests.get(f"{server.url}/t/穿搭", headers=she.headers).text
    assert f'data-post-id="{hidden["id"]}"' in mine
    assert requests.get(f"{server.url}/t/{'x' * 60}").status_code == 404
