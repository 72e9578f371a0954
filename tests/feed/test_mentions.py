"""Mentions, replies and grouped notifications over real HTTP."""

from __future__ import annotations

import pytest


def _notes(http, actor, **params) -> dict:
    r = http.get(http.base + "/notifications", headers=actor.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _of(http, actor, kind: str) -> list[dict]:
    return [n for n in _notes(http, actor, limit=100)["items"] if n["type"] == kind]


def _comment(http, actor, post_id: str, text: str, reply_to: str | None = None,
             expect: int = 201) -> dict:
    body = {"text": text} | ({"reply_to": reply_to} if reply_to else {})
    r = http.post(f"{http.base}/posts/{post_id}/comments", json=body, headers=actor.headers)
    assert r.status_code == expect, r.text
    return r.json()


def test_a_post_mention_notifies_once(http, feed, make_account):
    merchant = make_account("merchant")
    mei = make_account(username="mei_tea")
    other = make_account(username="other_fan")
    post = feed.post(merchant, text="新茶 for @MEI_tea and @mei_tea, not mail@other_fan.com "
                                    f"nor @@other_fan, nor @{merchant.username}")
    mentions = _of(http, mei, "mention")
    assert len(mentions) == 1
    assert mentions[0]["post_id"] == post["id"]
    assert mentions[0]["actor"]["id"] == merchant.id
    assert _of(http, other, "mention") == []
    assert _of(http, merchant, "mention") == []  # not yourself
    # an edit that adds a name tells only the new name
    r = http.patch(f"{http.base}/posts/{post['id']}", headers=merchant.headers,
                   json={"text": post["text"] + " and @other_fan"})
    assert r.status_code == 200, r.text
    assert len(_of(http, other, "mention")) == 1
    assert len(_of(http, mei, "mention")) == 1


def test_nobody_hears_of_a_post_they_may_not_see(http, feed, make_account):
    merchant = make_account("merchant")
    he = make_account(profile={"gender": "male"})
    she = make_account(profile={"gender": "female"})
    blocked = make_account()
    blocker = make_account()
    assert http.post(f"{http.base}/accounts/{blocked.id}/block",
                     headers=merchant.headers).status_code == 200
    assert http.post(f"{http.base}/accounts/{merchant.id}/block",
                     headers=blocker.headers).status_code == 200
    feed.post(merchant, text=f"@{he.username} @{she.username} @{blocked.username} "
                             f"@{blocker.username} 女士专享", audience={"gender": "female"})
    assert len(_of(http, she, "mention")) == 1
    assert _of(http, he, "mention") == []        # outside the post's audience
    assert _of(http, blocked, "mention") == []   # the author blocked them
    assert _of(http, blocker, "mention") == []   # they blocked the author


def test_a_held_post_mentions_nobody_until_published(app, http, feed, make_account):
    merchant, mei = make_account("merchant"), make_account()
    r = http.post(http.base + "/posts", headers=merchant.headers,
                  json={"kind": "post", "text": f"hi @{mei.username}", "draft": True})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    assert _of(http, mei, "mention") == []
    published = http.post(f"{http.base}/posts/{r.json()['id']}/publish",
                          headers=merchant.headers)
    assert published.status_code == 200, published.text
    assert len(_of(http, mei, "mention")) == 1


def test_replies_and_comment_mentions(http, feed, make_account):
    merchant, first, second, named = (make_account("merchant"), make_account(),
                                      make_account(), make_account())
    post = feed.post(merchant, text="tell us")
    parent = _comment(http, first, post["id"], "我喜欢")
    reply = _comment(http, second, post["id"], f"me too @{named.username}", parent["id"])
    assert reply["reply_to"] == parent["id"]
    replies = _of(http, first, "reply")
    assert [(n["post_id"], n["comment_id"], n["actor"]["id"]) for n in replies] == [
        (post["id"], reply["id"], second.id)]
    assert len(_of(http, merchant, "comment")) == 2
    mention = _of(http, named, "mention")
    assert [(n["post_id"], n["comment_id"]) for n in mention] == [(post["id"], reply["id"])]
    # answering the post's author: one `reply`, no second `comment`
    own = _comment(http, merchant, post["id"], "thanks")
    _comment(http, first, post["id"], "welcome", own["id"])
    assert len(_of(http, merchant, "reply")) == 1
    assert len(_of(http, merchant, "comment")) == 2
    listed = http.get(f"{http.base}/posts/{post['id']}/comments").json()["items"]
    assert {c["id"]: c["reply_to"] for c in listed}[reply["id"]] == parent["id"]


def test_reply_to_must_be_a_comment_of_the_same_post(http, feed, make_account):
    merchant, fan = make_account("merchant"), make_account()
    one, two = feed.post(merchant, text="one"), feed.post(merchant, text="two")
    elsewhere = _comment(http, fan, one["id"], "here")
    for bad in (elsewhere["id"], "nope", "0" * 24):
        r = _comment(http, fan, two["id"], "x", bad, expect=400)
        assert r["error"]["fields"] == {"reply_to": ["not a comment of this post"]}


@pytest.fixture
def busy_post(http, feed, make_account):
    merchant = make_account("merchant")
    post, other = feed.post(merchant, text="hot"), feed.post(merchant, text="cold")
    fans = [make_account() for _ in range(5)]
    for fan in fans:
        assert http.post(f"{http.base}/posts/{post['id']}/like", headers=fan.headers).ok
    _comment(http, fans[0], post["id"], "好")
    assert http.post(f"{http.base}/posts/{other['id']}/like", headers=fans[1].headers).ok
    for fan in fans[:3]:
        feed.follow(fan, merchant)
    return merchant, post, other, fans


def test_grouped_notifications(http, busy_post):
    merchant, post, other, fans = busy_post
    page = _notes(http, merchant, grouped="true")
    assert page["unread_count"] == 10
    shape = [(g["type"], g["post_id"], g["actors_count"]) for g in page["items"]]
    assert shape == [("follow", None, 3), ("like", other["id"], 1), ("comment", post["id"], 1),
                     ("like", post["id"], 5)]
    likes = page["items"][3]
    assert [a["id"] for a in likes["actors"]] == [fans[4].id, fans[3].id, fans[2].id]
    assert likes["latest_at"].endswith("Z") and likes["read"] is False
    r = http.post(http.base + "/notifications/read", headers=merchant.headers,
                  json={"up_to": page["items"][0]["latest_at"]})
    assert r.status_code == 204
    assert all(g["read"] for g in _notes(http, merchant, grouped="true")["items"])


def test_grouped_pages_do_not_repeat_a_group(http, busy_post):
    merchant, post, other, fans = busy_post
    first = _notes(http, merchant, grouped="true", limit=2)
    assert [g["type"] for g in first["items"]] == ["follow", "like"] and first["next_cursor"]
    second = _notes(http, merchant, grouped="true", limit=2, cursor=first["next_cursor"])
    assert [(g["type"], g["post_id"]) for g in second["items"]] == [
        ("comment", post["id"]), ("like", post["id"])]
    assert second["items"][1]["actors_count"] == 5
    assert second["next_cursor"] is None


def test_grouped_leaves_out_blocked_actors(http, busy_post):
    merchant, post, other, fans = busy_post
    assert http.post(f"{http.base}/accounts/{fans[4].id}/block",
                     headers=merchant.headers).status_code == 200
    likes = [g for g in _notes(http, merchant, grouped="true")["items"]
             if g["type"] == "like" and g["post_id"] == post["id"]][0]
    assert likes["actors_count"] == 4
    assert fans[4].id not in [a["id"] for a in likes["actors"]]
