"""Other people's things: pending and processing posts, media, stats, moderation routes.

What the contract says: hidden things are 404 to everyone but their author (and
moderators), so nothing about them leaks; acting on someone else's post, comment, upload,
campaign stats or on any moderation route is 403 with a token and 401 without one.
"""

from __future__ import annotations

import pytest
from bson import ObjectId

from tests.support import Actor


def _media(app, owner: Actor, status: str) -> str:
    from media.models import Media

    with app.app_context():
        media_id = ObjectId()
        Media(id=media_id, owner=ObjectId(owner.id), type="video", status=status,
              prefix=f"media/{media_id}-test",
              error={"code": "corrupt", "message": "x"} if status == "failed" else None).save()
    return str(media_id)


@pytest.fixture
def hidden(app, http, world) -> dict[str, str]:
    """A pending_review post (held by a review term) and a processing video post."""
    r = http.put(http.base + "/moderation/terms", json={"block": [], "review": ["刷单"]},
                 headers=world.moderator.headers)
    assert r.status_code == 200, r.text
    r = http.post(http.base + "/posts", json={"kind": "post", "text": "兼职刷单 日赚"},
                  headers=world.merchant.headers)
    assert r.status_code == 201 and r.json()["status"] == "pending_review", r.text
    pending = r.json()["id"]
    media = _media(app, world.merchant, "processing")
    r = http.post(http.base + "/posts", json={"kind": "video", "media_ids": [media],
                                              "text": "soon"}, headers=world.merchant.headers)
    assert r.status_code == 201 and r.json()["status"] == "processing", r.text
    return {"pending": pending, "processing": r.json()["id"], "media": media}


def test_hidden_posts_are_404_to_everyone_but_author_and_moderators(http, server, world, hidden):
    strangers = {"anonymous": {}, "fan": world.fan.headers, "other_fan": world.other_fan.headers}
    for status in ("pending", "processing"):
        post = hidden[status]
        for who, headers in strangers.items():
            what = f"{status} post as {who}"
            device = {"X-Device-Id": "device-1"}
            assert http.get(f"{http.base}/posts/{post}", headers=headers).status_code == 404, what
            r = http.get(f"{http.base}/posts/{post}/comments", headers=headers)
            assert r.status_code == 404, what
            r = http.post(f"{http.base}/posts/{post}/view", headers={**headers, **device})
            assert r.status_code == 404, what
            r = http.post(f"{http.base}/posts/{post}/products/0/click", headers=headers)
            assert r.status_code == 404, what
            if headers:
                for method, path, body in (
                        ("POST", "like", None), ("DELETE", "like", None),
                        ("POST", "comments", {"text": "hi"}),
                        ("POST", "reports", {"reason": "spam"})):
                    r = http.request(method, f"{http.base}/posts/{post}/{path}", json=body,
                                     headers=headers)
                    assert r.status_code == 404, f"{method} {path} on {what}: {r.status_code}"
                # 404, not 403: a 403 would tell that it exists (issue 15)
                r = http.patch(f"{http.base}/posts/{post}", json={"text": "mine"}, headers=headers)
                assert r.status_code == 404, what
                assert http.delete(f"{http.base}/posts/{post}", headers=headers).status_code == 404
            else:
                assert http.patch(f"{http.base}/posts/{post}", json={"text": "x"}).status_code == 401
                assert http.delete(f"{http.base}/posts/{post}").status_code == 401
            for path in (f"/accounts/{world.merchant.id}/posts", "/channels/videos",
                         "/channels/influencers"):
                ids = [p["id"] for p in http.get(http.base + path, headers=headers).json()["items"]]
                assert post not in ids, f"{what} listed in {path}"
            page = http.get(f"{server.url}/m/{world.merchant.username}/p/{post}", headers=headers)
            assert page.status_code == 404, what
            page = http.get(f"{server.url}/m/{world.merchant.username}", headers=headers)
            assert post not in page.text, what
        for who, headers in (("author", world.merchant.headers),
                             ("moderator", world.moderator.headers)):
            r = http.get(f"{http.base}/posts/{post}", headers=headers)
            assert r.status_code == 200, f"{status} post as {who}"
        ids = [p["id"] for p in http.get(f"{http.base}/accounts/{world.merchant.id}/posts",
                                         headers=world.merchant.headers).json()["items"]]
        assert post in ids  # the author sees all of their own


def test_media_that_is_not_ready_is_only_its_owners(app, http, world, hidden):
    failed = _media(app, world.merchant, "failed")
    for media in (hidden["media"], failed):
        for headers in ({}, world.fan.headers, world.other_fan.headers):
            assert http.get(f"{http.base}/media/{media}", headers=headers).status_code == 404
        r = http.get(f"{http.base}/media/{media}", headers=world.merchant.headers)
        assert r.status_code == 200 and r.json()["status"] in ("processing", "failed")
        # nobody else can attach it to a post
        r = http.post(http.base + "/posts", json={"kind": "video", "media_ids": [media]},
                      headers=world.fan.headers)
        assert r.status_code == 400, r.text
    # a failed media cannot make a post even for its owner
    r = http.post(http.base + "/posts", json={"kind": "video", "media_ids": [failed]},
                  headers=world.merchant.headers)
    assert r.status_code == 400


def test_stats_are_the_owners(http, make_account, world):
    other_merchant = make_account("merchant")
    campaign = world.campaign["id"]
    assert http.get(http.base + "/accounts/me/stats").status_code == 401
    assert http.get(http.base + "/accounts/me/stats", headers=world.fan.headers).status_code == 403
    r = http.get(http.base + "/accounts/me/stats", headers=world.merchant.headers)
    assert r.status_code == 200
    assert http.get(f"{http.base}/campaigns/{campaign}/stats").status_code == 401
    for headers in (world.fan.headers, other_merchant.headers):
        r = http.get(f"{http.base}/campaigns/{campaign}/stats", headers=headers)
        assert r.status_code == 403, r.text
    r = http.get(f"{http.base}/campaigns/{campaign}/stats", headers=world.merchant.headers)
    assert r.status_code == 200
    # the dashboard page shows only the viewer's own figures, and only to merchants
    dashboard = http.base.replace("/api/v1", "/dashboard")
    assert http.get(dashboard, headers=world.fan.headers).status_code == 403
    page = http.get(dashboard, headers=other_merchant.headers)
    assert page.status_code == 200 and world.post["id"] not in page.text


def _moderation_routes(world, item_id: str) -> list[tuple[str, str, dict | None]]:
    fan = world.fan.id
    return [
        ("GET", "/moderation/queue", None),
        ("GET", f"/moderation/queue/{item_id}", None),
        ("POST", f"/moderation/queue/{item_id}/decision", {"action": "remove", "reason": "x"}),
        ("GET", "/moderation/terms", None),
        ("PUT", "/moderation/terms", {"block": ["a"], "review": []}),
        ("GET", "/moderation/audit", None),
        ("POST", f"/moderation/accounts/{fan}/suspend", {"reason": "x"}),
        ("DELETE", f"/moderation/accounts/{fan}/suspend", {"reason": "x"}),
        ("POST", f"/moderation/accounts/{fan}/verify", {"reason": "x"}),
        ("DELETE", f"/moderation/accounts/{fan}/verify", {"reason": "x"}),
    ]


def test_moderation_routes_need_the_role(http, server, world):
    r = http.post(f"{http.base}/posts/{world.post['id']}/reports", json={"reason": "spam"},
                  headers=world.fan.headers)
    assert r.status_code == 201
    item_id = http.get(http.base + "/moderation/queue",
                       headers=world.moderator.headers).json()["items"][0]["id"]
    for method, path, body in _moderation_routes(world, item_id):
        assert http.request(method, http.base + path, json=body).status_code == 401, path
        for actor in (world.fan, world.merchant):
            r = http.request(method, http.base + path, json=body, headers=actor.headers)
            assert r.status_code == 403, f"{method} {path} as {actor.username}"
    # nothing happened: the post is still up, the fan not suspended, terms unchanged
    assert http.get(f"{http.base}/posts/{world.post['id']}").status_code == 200
    assert http.get(http.base + "/accounts/me", headers=world.fan.headers).status_code == 200
    r = http.get(http.base + "/moderation/terms", headers=world.moderator.headers)
    assert r.json()["block"] == []
    # the moderators' page too
    for headers in (world.fan.headers, world.merchant.headers):
        page = http.get(server.url + "/admin/moderation", headers=headers, allow_redirects=False)
        assert page.status_code in (403, 404), page.status_code
    page = http.get(server.url + "/admin/moderation", headers=world.moderator.headers)
    assert page.status_code == 200


def test_someone_elses_comment_and_campaign_cannot_be_touched(http, world, make_account):
    comment = world.comment["id"]
    r = http.delete(f"{http.base}/comments/{comment}", headers=world.other_fan.headers)
    assert r.status_code == 403
    assert http.delete(f"{http.base}/comments/{comment}").status_code == 401
    # fans cannot run campaigns
    r = http.post(http.base + "/campaigns", headers=world.fan.headers, json={
        "title": "t", "tag": "t", "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2027-01-01T00:00:00Z"})
    assert r.status_code == 403, r.text
