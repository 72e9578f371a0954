"""CPU and memory amplification: small inputs that used to cost minutes of CPU or gigabytes.

Each case sends the attack through the public API and asserts what a user sees; the work is
bounded by construction (a linear-time parser, caps checked before decoding), so the tests
carry no timing assertions: on the old code they run into pytest's timeout instead.
"""

from __future__ import annotations

import pytest

PATHOLOGICAL = ["[", "![", "*[", "[^"]


@pytest.fixture
def render_seconds(app):
    """Set ``MARKDOWN_RENDER_SECONDS`` for one test."""
    saved = app.config["MARKDOWN_RENDER_SECONDS"]

    def set_to(seconds: float) -> None:
        app.config["MARKDOWN_RENDER_SECONDS"] = seconds

    yield set_to
    app.config["MARKDOWN_RENDER_SECONDS"] = saved


def _assert_text(html: str, brackets: int) -> None:
    """One paragraph of text (``*[*[`` is emphasis in CommonMark), every bracket kept, no link."""
    html = html.strip()
    assert html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1
    assert html.count("[") == brackets and "<a" not in html and "<img" not in html


def _headline(http, actor, body: str):
    return http.post(http.base + "/posts", headers=actor.headers,
                     json={"kind": "headline", "title": "t", "text": "x", "body": body})


@pytest.mark.timeout(60)
@pytest.mark.parametrize("unit", PATHOLOGICAL)
def test_markdown_bracket_floods_render_as_text(http, make_account, unit):
    """8,000 of each opener on POST and PATCH are plain text (the old parser took 13 s each)."""
    author = make_account("influencer")
    body = unit * 8000
    r = _headline(http, author, body)
    assert r.status_code == 201, r.text
    _assert_text(r.json()["body_html"], 8000)
    r = http.patch(f"{http.base}/posts/{r.json()['id']}", headers=author.headers,
                   json={"body": "**ok** " + body})
    assert r.status_code == 200, r.text
    assert r.json()["body_html"].startswith("<p><strong>ok</strong> ")
    _assert_text(r.json()["body_html"], 8000)


@pytest.mark.timeout(120)
def test_markdown_100kb_of_openers_is_accepted(http, make_account, render_seconds):
    """The largest body the contract accepts, of every known worst case, renders (linear)."""
    render_seconds(600)  # this test is about the parser, not the deadline
    author = make_account("influencer")
    for unit in PATHOLOGICAL:
        body = unit * (100_000 // len(unit))
        r = _headline(http, author, body)
        assert r.status_code == 201, (unit, r.text[:300])
        _assert_text(r.json()["body_html"], len(body) // len(unit))


def test_markdown_render_deadline_refuses_with_422(http, make_account, render_seconds):
    """Past MARKDOWN_RENDER_SECONDS the body is refused in the contract's shape; short ones pass."""
    render_seconds(0.01)
    author = make_account("influencer")
    r = _headline(http, author, "![" * 50_000)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "body_too_complex" and "body" in r.json()["error"]["fields"]
    r = _headline(http, author, "# 标题\n\n**粗体**")
    assert r.status_code == 201 and "<strong>粗体</strong>" in r.json()["body_html"]
    post = r.json()
    r = http.patch(f"{http.base}/posts/{post['id']}", headers=author.headers,
                   json={"body": "![" * 50_000})
    assert r.status_code == 422 and r.json()["error"]["code"] == "body_too_complex"
    assert http.get(f"{http.base}/posts/{post['id']}").json()["body_html"] == post["body_html"]
