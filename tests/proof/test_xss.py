"""XSS: every text a user controls, shown on a page, is inert.

Hostile text goes into the display name, bio, post text, title, headline body (Markdown),
tags, product fields, comments and campaign title/description/tag; the account page, the
post page, the campaign page, the dashboard and the moderators' page are then parsed: no
inline script, no event-handler attribute, no javascript: URL, and the text is shown
escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

PAYLOAD = ("<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg onload=alert(3)>"
           "<iframe src=javascript:alert(4)></iframe>{{7*7}}<a href=\"javascript:alert(5)\">x</a>")
MARKDOWN = ("# t\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2)) "
            "![i](javascript:alert(3)) <img src=x onerror=alert(4)> "
            "<a href=\"jav&#x09;ascript:alert(5)\">y</a> <div onclick=alert(6)>z</div>\n\n"
            "[ok](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)")
URL_ATTRS = {"href", "src", "action", "poster", "formaction", "data-hls", "content", "srcset",
             "xlink:href", "background"}


class Audit(HTMLParser):
    """Collects what would run: inline scripts, handlers, script URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            if not names.get("src"):
                self.problems.append(f"inline <script {attrs}>")
            self.in_script = True
        if tag in ("iframe", "object", "embed", "base", "meta") and (
                tag != "meta" or names.get("http-equiv", "").lower() == "refresh"):
            self.problems.append(f"<{tag}> from user text")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRS and value:
                squashed = "".join(value.split()).lower()
                if squashed.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append(f"inline script body {data[:60]!r}")


def audit(html: str) -> list[str]:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.fixture
def hostile(http, world):
    merchant, fan = world.merchant, world.fan
    r = http.patch(http.base + "/accounts/me", headers=merchant.headers,
                   json={"display_name": PAYLOAD[:60], "bio": PAYLOAD})
    assert r.status_code == 200, r.text
    r = http.patch(http.base + "/accounts/me", headers=fan.headers,
                   json={"display_name": "<script>alert('fan')</script>"})
    assert r.status_code == 200, r.text
    posts = {}
    for kind, body in (
            ("post", {"text": PAYLOAD, "title": PAYLOAD[:200], "tags": ["<script>x", "\"><b>"],
                      "products": [{"title": PAYLOAD[:120], "price": "<b>9</b>",
                                    "url": "https://example.com/?q=\"><script>alert(1)</script>",
                                    "image_url": "https://example.com/\"onerror=\"alert(1)"}]}),
            ("headline", {"title": PAYLOAD[:200], "body": MARKDOWN, "text": PAYLOAD})):
        r = http.post(http.base + "/posts", json={"kind": kind, **body}, headers=merchant.headers)
        assert r.status_code == 201, r.text
        posts[kind] = r.json()["id"]
        r = http.post(f"{http.base}/posts/{posts[kind]}/comments", json={"text": PAYLOAD},
                      headers=fan.headers)
        assert r.status_code == 201, r.text
    now = datetime.now(UTC)
    r = http.post(http.base + "/campaigns", headers=merchant.headers, json={
        "title": PAYLOAD[:120], "description": PAYLOAD, "tag": "<script>",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat()})
    assert r.status_code == 201, r.text
    campaign = r.json()["id"]
    # and into the moderators' queue: a report with hostile details
    r = http.post(f"{http.base}/posts/{posts['post']}/reports",
                  json={"reason": "<script>", "details": PAYLOAD}, headers=fan.headers)
    assert r.status_code == 201, r.text
    return {"posts": posts, "campaign": campaign}


def test_text_fields_render_inert_on_every_page(http, server, world, hostile):
    user = world.merchant.username
    pages = {
        "account": (f"/m/{user}", {}),
        "account (signed in)": (f"/m/{user}", world.fan.headers),
        "post": (f"/m/{user}/p/{hostile['posts']['post']}", {}),
        "headline": (f"/m/{user}/p/{hostile['posts']['headline']}", world.fan.headers),
        "campaign": (f"/c/{hostile['campaign']}", {}),
        "dashboard": ("/dashboard", world.merchant.headers),
        "moderation": ("/admin/moderation", world.moderator.headers),
    }
    for name, (path, headers) in pages.items():
        r = http.get(server.url + path, headers=headers)
        assert r.status_code == 200, f"{name}: {r.status_code}"
        assert r.headers["Content-Type"].startswith("text/html")
        problems = audit(r.text)
        assert not problems, f"{name} page: {problems}"
        assert "<script>alert" not in r.text and "<img src=x" not in r.text, name
        csp = r.headers.get("Content-Security-Policy", "")
        assert "script-src" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        if name != "dashboard":
            assert "&lt;script&gt;alert(" in r.text, f"{name}: the text is not shown escaped"


def test_headline_html_is_sanitized_in_the_api_too(http, world, hostile):
    post = http.get(f"{http.base}/posts/{hostile['posts']['headline']}").json()
    problems = audit(post["body_html"])
    assert not problems, problems
    assert "<script" not in post["body_html"] and "javascript:" not in post["body_html"]
    assert "data:text/html" not in post["body_html"]
