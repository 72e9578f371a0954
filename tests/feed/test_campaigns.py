"""Fan video campaigns over real HTTP: creating, joining, approval, the gallery, the stats.

Entries are real videos: each fan uploads a small clip made by ffmpeg, the media job
transcodes it, and the post waits for review (``FAN_VIDEO_REVIEW``) until a moderator
approves it through the moderation API (or ``feed.posts.set_status``, standing for one).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from feed import cache
from tests.support import wait_for


def _at(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("campaign-clips") / "entry.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=1", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return path


class Campaigns:
    def __init__(self, http, app, clip_path) -> None:
        self.http, self.base, self.app, self.clip = http, http.base, app, clip_path

    def create(self, merchant, expect: int = 201, **body) -> dict:
        body.setdefault("title", "夏日穿搭挑战")
        body.setdefault("description", "穿上我们的新品,拍一段 15 秒视频")
        body.setdefault("tag", "#夏日穿搭")
        body.setdefault("starts_at", _at(hours=-1))
        body.setdefault("ends_at", _at(days=7))
        r = self.http.post(self.base + "/campaigns", json=body,
                           headers=merchant.headers if merchant else {})
        assert r.status_code == expect, r.text
        return r.json()

    def insert(self, merchant, title: str, starts: timedelta, ends: timedelta) -> str:
        """A campaign with any window (the API refuses windows already over)."""
        from feed.models import Campaign

        now = datetime.now(UTC)
        with self.app.app_context():
            campaign = Campaign(merchant=merchant.id, title=title, tag="t",
                                starts_at=now + starts, ends_at=now + ends).save()
        return str(campaign.id)

    def get(self, campaign_id: str, path: str = "", expect: int = 200, headers=None, **params):
        r = self.http.get(f"{self.base}/campaigns/{campaign_id}{path}", params=params,
                          headers=headers or {})
        assert r.status_code == expect, r.text
        return r.json()

    def upload(self, actor) -> str:
        with open(self.clip, "rb") as fh:
            r = requests.post(self.base + "/media", headers=actor.headers,
                              files={"file": ("entry.mp4", fh)}, timeout=60)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def enter(self, fans, campaign_id: str) -> list[dict]:
        """Each fan uploads a video (in parallel) and posts it into the campaign."""
        with ThreadPoolExecutor(4) as pool:
            media = list(pool.map(self.upload, fans))
        posts = []
        for fan, media_id in zip(fans, media):
            r = self.http.post(self.base + "/posts", headers=fan.headers, json={
                "kind": "video", "text": f"我的参赛视频 {fan.username}", "media_ids": [media_id],
                "campaign_id": campaign_id})
            assert r.status_code == 201, r.text
            posts.append(r.json())
        for fan, post in zip(fans, posts):
            wait_for(lambda fan=fan, post=post: self.http.get(
                f"{self.base}/posts/{post['id']}", headers=fan.headers).json()["status"]
                not in ("processing",), timeout=60)
        return [self.http.get(f"{self.base}/posts/{p['id']}", headers=f.headers).json()
                for f, p in zip(fans, posts)]

    def publish(self, post_id: str) -> None:
        """Stands for a moderator's approval."""
        from feed import posts
        from feed.models import Post

        with self.app.app_context():
            posts.set_status(Post.objects.get(id=post_id), "published")


@pytest.fixture
def camp(http, app, clip_path) -> Campaigns:
    return Campaigns(http, app, clip_path)


def test_only_merchants_create_and_windows_are_checked(camp, make_account):
    brand, fan, star = make_account("merchant"), make_account("fan"), make_account("influencer")
    created = camp.create(brand, tag=" #Summer穿搭 ")
    assert created["tag"] == "summer穿搭" and created["state"] == "active"
    assert created["merchant"]["id"] == brand.id
    assert (created["entries_count"], created["participants_count"]) == (0, 0)
    assert set(created) >= {"id", "merchant", "title", "description", "tag", "starts_at",
                            "ends_at", "state", "entries_count", "participants_count"}
    assert camp.create(fan, expect=403)["error"]["code"] == "forbidden"
    camp.create(star, expect=403)
    camp.create(None, expect=401)
    bad = camp.create(brand, expect=400, starts_at=_at(days=2), ends_at=_at(days=1))
    assert "ends_at" in bad["error"]["fields"]
    same = _at(days=1)
    camp.create(brand, expect=400, starts_at=same, ends_at=same)
    camp.create(brand, expect=400, starts_at=_at(days=-3), ends_at=_at(days=-1))
    assert "tag" in camp.create(brand, expect=400, tag="#")["error"]["fields"]
    camp.create(brand, expect=400, tag="x" * 41)
    camp.create(brand, expect=400, title="")
    camp.create(brand, expect=400, starts_at="tomorrow")
    upcoming = camp.create(brand, starts_at=_at(days=1), ends_at=_at(days=2))
    assert upcoming["state"] == "upcoming"
    assert camp.get(created["id"])["title"] == "夏日穿搭挑战"
    camp.get("nope", expect=404)
    camp.get("0" * 24, expect=404)


def test_fans_join_only_inside_the_window_and_entries_need_approval(camp, make_account, http):
    brand = make_account("merchant")
    mod = make_account("fan", roles=("moderator",))
    fan = make_account("fan", profile={"gender": "female"})
    active = camp.create(brand)["id"]
    later = camp.insert(brand, "later", timedelta(days=1), timedelta(days=2))
    over = camp.insert(brand, "over", timedelta(days=-3), timedelta(days=-1))

    media_id = camp.upload(fan)
    for campaign_id, status, code in ((later, 422, "campaign_closed"),
                                      (over, 422, "campaign_closed"),
                                      ("0" * 24, 404, "not_found")):
        r = http.post(http.base + "/posts", headers=fan.headers, json={
            "kind": "video", "media_ids": [media_id], "campaign_id": campaign_id})
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    r = http.post(http.base + "/posts", headers=fan.headers,
                  json={"kind": "post", "text": "文字不算", "campaign_id": active})
    assert r.status_code == 400

    (entry,) = camp.enter([fan], active)
    assert entry["status"] == "pending_review" and entry["campaign_id"] == active
    assert camp.get(active, "/entries")["items"] == []
    assert camp.get(active)["entries_count"] == 0

    queue = http.get(http.base + "/moderation/queue", headers=mod.headers).json()["items"]
    (item,) = [i for i in queue if i["target_id"] == entry["id"]]
    assert "fan_video" in item["reasons"]
    r = http.post(f"{http.base}/moderation/queue/{item['id']}/decision", headers=mod.headers,
                  json={"action": "approve", "reason": "好看"})
    assert r.status_code == 200, r.text

    page = camp.get(active, "/entries")
    assert [p["id"] for p in page["items"]] == [entry["id"]]
    assert page["items"][0]["media"][0]["hls_url"]
    assert (camp.get(active)["entries_count"], camp.get(active)["participants_count"]) == (1, 1)


def test_gallery_sorts_pages_and_applies_visibility(camp, make_account, http, app):
    brand = make_account("merchant")
    fans = [make_account("fan") for _ in range(3)]
    campaign_id = camp.create(brand)["id"]
    entries = camp.enter(fans, campaign_id)
    second_entry = camp.enter([fans[0]], campaign_id)[0]
    for entry in entries + [second_entry]:
        camp.publish(entry["id"])
    # views: entries[1] is the most viewed, then entries[2]; unique viewers only
    for i, viewers in ((1, 3), (2, 2), (0, 0)):
        for n in range(viewers):
            r = http.post(f"{http.base}/posts/{entries[i]['id']}/view",
                          headers={"X-Device-Id": f"device-{n}"})
            assert r.status_code == 204
    http.post(f"{http.base}/posts/{entries[1]['id']}/view", headers={"X-Device-Id": "device-0"})
    with app.app_context():
        from feed.interactions import flush_views

        flush_views()  # the periodic job

    newest = [p["id"] for p in camp.get(campaign_id, "/entries", sort="new")["items"]]
    assert newest == [second_entry["id"]] + [e["id"] for e in reversed(entries)]
    by_views = camp.get(campaign_id, "/entries", sort="views")["items"]
    assert [p["id"] for p in by_views[:2]] == [entries[1]["id"], entries[2]["id"]]
    assert [p["view_count"] for p in by_views] == [3, 2, 0, 0]

    for sort in ("new", "views"):
        seen, cursor = [], None
        while True:
            page = camp.get(campaign_id, "/entries", sort=sort, limit=1,
                            **({"cursor": cursor} if cursor else {}))
            seen += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        full = camp.get(campaign_id, "/entries", sort=sort)["items"]
        assert seen == [p["id"] for p in full] and len(seen) == 4

    camp.get(campaign_id, "/entries", expect=400, sort="likes")
    camp.get(campaign_id, "/entries", expect=400, limit=0)
    camp.get(campaign_id, "/entries", expect=400, cursor="garbage!")
    new_cursor = camp.get(campaign_id, "/entries", sort="new", limit=1)["next_cursor"]
    camp.get(campaign_id, "/entries", expect=400, sort="views", cursor=new_cursor)

    # a suspended fan's entries leave the gallery and the counts
    mod = make_account("fan", roles=("moderator",))
    r = http.post(f"{http.base}/moderation/accounts/{fans[0].id}/suspend", headers=mod.headers,
                  json={"reason": "spam"})
    assert r.status_code == 200, r.text
    shown = [p["id"] for p in camp.get(campaign_id, "/entries")["items"]]
    assert shown == [entries[2]["id"], entries[1]["id"]]
    assert (camp.get(campaign_id)["entries_count"], camp.get(campaign_id)["participants_count"]) \
        == (2, 2)
    # a viewer the merchant's fan blocked does not see that fan's entry
    viewer = make_account("fan")
    r = http.post(f"{http.base}/accounts/{viewer.id}/block", headers=fans[1].headers)
    assert r.status_code == 200, r.text
    shown = [p["id"] for p in camp.get(campaign_id, "/entries", headers=viewer.headers)["items"]]
    assert shown == [entries[2]["id"]]


def test_account_campaigns_active_first(camp, make_account, http):
    brand, fan = make_account("merchant"), make_account("fan")
    ended = camp.insert(brand, "ended", timedelta(days=-10), timedelta(days=-5))
    ended_later = camp.insert(brand, "ended later", timedelta(days=-4), timedelta(days=-2))
    upcoming = camp.create(brand, title="upcoming", starts_at=_at(days=3), ends_at=_at(days=9))
    soon = camp.create(brand, title="soon", starts_at=_at(days=1), ends_at=_at(days=9))
    active_long = camp.create(brand, title="long", ends_at=_at(days=30))
    active_short = camp.create(brand, title="short", ends_at=_at(days=2))
    expected = [active_short["id"], active_long["id"], soon["id"], upcoming["id"], ended_later,
                ended]

    r = http.get(f"{http.base}/accounts/{brand.id}/campaigns")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [c["id"] for c in items] == expected
    assert [c["state"] for c in items] == ["active"] * 2 + ["upcoming"] * 2 + ["ended"] * 2
    seen, cursor = [], None
    while True:
        page = http.get(f"{http.base}/accounts/@{brand.username}/campaigns",
                        params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expected
    assert http.get(f"{http.base}/accounts/{fan.id}/campaigns").json() == {
        "items": [], "next_cursor": None}
    assert http.get(f"{http.base}/accounts/{'0' * 24}/campaigns").status_code == 404
    assert http.get(f"{http.base}/accounts/{brand.id}/campaigns",
                    params={"cursor": "bad!"}).status_code == 400


def test_stats_for_the_owner_agree_with_the_raw_data(camp, make_account, http, app):
    brand, rival = make_account("merchant"), make_account("merchant")
    fans = [make_account("fan") for _ in range(3)]
    campaign_id = camp.create(brand, starts_at=_at(minutes=-30))["id"]
    entries = camp.enter(fans[:2], campaign_id) + camp.enter([fans[0]], campaign_id)
    for entry in entries:
        camp.publish(entry["id"])
    held = camp.enter([fans[2]], campaign_id)[0]  # still pending review
    for n in range(3):
        http.post(f"{http.base}/posts/{entries[0]['id']}/view", headers={"X-Device-Id": f"v{n}"})
    http.post(f"{http.base}/posts/{entries[2]['id']}/view", headers=fans[1].headers)
    http.post(f"{http.base}/posts/{held['id']}/view", headers=fans[2].headers)
    for fan in fans:  # followers gained during the campaign
        assert http.post(f"{http.base}/accounts/{brand.id}/follow",
                         headers=fan.headers).status_code == 200
    with app.app_context():  # one follow from before the window does not count
        from feed.models import Follow

        early = make_account("fan")
        Follow(follower=early.id, followee=brand.id,
               created_at=datetime.now(UTC) - timedelta(hours=2)).save()

    assert http.get(f"{http.base}/campaigns/{campaign_id}/stats").status_code == 401
    r = http.get(f"{http.base}/campaigns/{campaign_id}/stats", headers=rival.headers)
    assert r.status_code == 403
    assert http.get(f"{http.base}/campaigns/{campaign_id}/stats",
                    headers=fans[0].headers).status_code == 403
    stats = http.get(f"{http.base}/campaigns/{campaign_id}/stats", headers=brand.headers).json()

    with app.app_context():
        from bson import ObjectId

        from feed.models import Campaign, Follow, Post

        campaign = Campaign.objects.get(id=campaign_id)
        approved = list(Post.objects(campaign_id=ObjectId(campaign_id), kind="video",
                                     status="published"))
        raw_followers = [f for f in Follow.objects(followee=ObjectId(brand.id))
                         if campaign.starts_at <= f.created_at < campaign.ends_at]
        raw = {"entries": len(approved), "participants": len({p.author for p in approved}),
               "new_followers": len(raw_followers), "views": sum(p.view_count for p in approved)}
    assert {k: stats[k] for k in raw} == raw
    assert raw == {"entries": 3, "participants": 2, "new_followers": 3, "views": 4}
    assert stats["submitted"] == 4 and stats["pending"] == 1
    assert stats["top_entries"][0] == {"post_id": entries[0]["id"], "author_id": fans[0].id,
                                       "views": 3}
    public = camp.get(campaign_id)
    assert (public["entries_count"], public["participants_count"]) == (3, 2)
    # the same figures as each entry's own view_count in the API
    shown = camp.get(campaign_id, "/entries")["items"]
    assert sum(p["view_count"] for p in shown) == stats["views"]


def test_counts_follow_suspensions_deletions_and_wait_for_a_recount(camp, make_account, http,
                                                                    app):
    """The counts are kept between reads: every change to an entry or an entrant shows at
    once, and while one request recounts, other readers get the counts from before."""
    brand, mod = make_account("merchant"), make_account("fan", roles=("moderator",))
    fans = [make_account("fan") for _ in range(3)]
    campaign_id = camp.create(brand)["id"]
    entries = camp.enter(fans, campaign_id)
    for entry in entries[:2]:
        camp.publish(entry["id"])

    def shown() -> tuple[int, int]:
        found = camp.get(campaign_id)
        return found["entries_count"], found["participants_count"]

    assert shown() == (2, 2)
    suspend = f"{http.base}/moderation/accounts/{fans[0].id}/suspend"
    assert http.post(suspend, json={}, headers=mod.headers).ok
    assert shown() == (1, 1)
    assert http.delete(suspend, headers=mod.headers).ok
    assert shown() == (2, 2)
    assert http.delete(f"{http.base}/posts/{entries[1]['id']}", headers=fans[1].headers).ok
    assert shown() == (1, 1)

    claim = cache.claim_key(cache.campaign_counts_key(campaign_id))
    with app.app_context():  # as if another request were recounting
        app.extensions["redis"].set(claim, 1, ex=30)
    camp.publish(entries[2]["id"])
    assert shown() == (1, 1)
    with app.app_context():
        app.extensions["redis"].delete(claim)
    assert shown() == (2, 2)
