"""Drafts and scheduled posts over real HTTP, published by the real embedded worker and beat.

Scheduled posts are taken from the Redis schedule by beat's one-second job; the service-level
tests call the same job's function with a clock moved ahead (the schedule cannot be waited
out for hours) to show it is idempotent and that the MongoDB sweep restores a lost schedule.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests


def _at(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def _get(http, actor, path: str, **params) -> requests.Response:
    return http.get(http.base + path, headers=actor.headers if actor else {}, params=params)


def _ids(page: dict) -> list[str]:
    return [p["id"] for p in page["items"]]


def test_a_draft_is_the_authors_only_until_published(feed, make_account, http):
    brand, fan = make_account("merchant"), make_account("fan")
    feed.follow(fan, brand)
    draft = feed.post(brand, text="双十一预告(草稿)", tags=["预告"], draft=True)
    assert draft["status"] == "draft" and draft["publish_at"] is None
    url = f"/posts/{draft['id']}"
    assert _get(http, fan, url).status_code == 404
    assert _get(http, None, url).status_code == 404
    assert _get(http, brand, url).json()["status"] == "draft"
    assert _ids(_get(http, brand, "/accounts/me/drafts").json()) == [draft["id"]]
    assert _get(http, brand, "/accounts/me/scheduled").json()["items"] == []
    assert _get(http, fan, "/accounts/me/drafts").json()["items"] == []
    assert _ids(_get(http, fan, f"/accounts/{brand.id}/posts").json()) == []
    assert _ids(_get(http, brand, f"/accounts/{brand.id}/posts").json()) == []
    assert _get(http, fan, f"/accounts/{brand.id}").json()["posts_count"] == 0
    assert feed.home_ids(fan) == []

    edited = http.patch(http.base + url, headers=brand.headers, json={"text": "双十一预告"})
    assert edited.status_code == 200 and edited.json()["status"] == "draft"
    assert http.post(f"{http.base}{url}/publish", headers=fan.headers).status_code == 404
    assert http.post(f"{http.base}{url}/publish").status_code == 401

    published = http.post(f"{http.base}{url}/publish", headers=brand.headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["text"] == "双十一预告"
    assert feed.wait_in_home(fan, draft["id"]) == [draft["id"]]
    assert _get(http, fan, url).json()["text"] == "双十一预告"
    assert _get(http, brand, "/accounts/me/drafts").json()["items"] == []
    assert _get(http, fan, f"/accounts/{brand.id}").json()["posts_count"] == 1
    again = http.post(f"{http.base}{url}/publish", headers=brand.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    other = feed.post(brand, text="已发布")
    r = http.post(f"{http.base}/posts/{other['id']}/publish", headers=fan.headers)
    assert r.status_code == 403


def test_a_scheduled_post_is_published_and_fanned_out_by_the_worker(feed, make_account, http):
    brand, fan = make_account("merchant"), make_account("fan")
    feed.follow(fan, brand)
    at = _at(seconds=2)
    post = feed.post(brand, text="零点开抢", publish_at=at)
    assert post["status"] == "scheduled"
    assert datetime.fromisoformat(post["publish_at"]) == \
        datetime.fromisoformat(at).replace(microsecond=datetime.fromisoformat(at).microsecond
                                           // 1000 * 1000)
    assert _get(http, fan, f"/posts/{post['id']}").status_code == 404
    assert _ids(_get(http, brand, "/accounts/me/scheduled").json()) == [post["id"]]

    assert feed.wait_in_home(fan, post["id"]) == [post["id"]]
    seen = _get(http, fan, f"/posts/{post['id']}").json()
    assert seen["status"] == "published"
    assert seen["created_at"] >= post["publish_at"]  # it takes its place in feeds at its time
    assert _get(http, brand, "/accounts/me/scheduled").json()["items"] == []
    assert _ids(_get(http, None, f"/accounts/{brand.id}/posts").json()) == [post["id"]]


@pytest.mark.parametrize("body, field", [
    ({"publish_at": "2020-01-01T00:00:00Z"}, "publish_at"),
    ({"publish_at": "tomorrow"}, "publish_at"),
    ({"draft": True, "publish_at": "+1d"}, "draft"),
    ({"draft": "maybe"}, "draft"),
])
def test_bad_plans_are_400(feed, make_account, body, field):
    brand = make_account("merchant")
    if body.get("publish_at") == "+1d":
        body = {**body, "publish_at": _at(days=1)}
    error = feed.post(brand, expect=400, text="x", **body)["error"]
    assert error["code"] == "validation_error" and field in error["fields"]


def test_publish_at_is_at_most_90_days_ahead(feed, make_account):
    brand = make_account("merchant")
    too_far = feed.post(brand, expect=400, text="x", publish_at=_at(days=90, minutes=5))
    assert "publish_at" in too_far["error"]["fields"]
    assert feed.post(brand, text="x", publish_at=_at(days=89))["status"] == "scheduled"


def test_scheduled_posts_are_moved_cancelled_and_rescheduled(feed, make_account, http):
    brand, fan = make_account("influencer"), make_account("fan")
    feed.follow(fan, brand)
    post = feed.post(brand, text="新品预告", publish_at=_at(hours=1))
    url = f"{http.base}/posts/{post['id']}"
    later = _at(hours=2)
    moved = http.patch(url, headers=brand.headers, json={"publish_at": later, "text": "新品预告!"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "scheduled" and moved.json()["text"] == "新品预告!"
    assert moved.json()["publish_at"][:19] == later[:19]
    bad = http.patch(url, headers=brand.headers, json={"publish_at": _at(days=91)})
    assert bad.status_code == 400 and "publish_at" in bad.json()["error"]["fields"]

    cancelled = http.patch(url, headers=brand.headers, json={"publish_at": None})
    assert cancelled.json()["status"] == "draft" and cancelled.json()["publish_at"] is None
    assert _get(http, brand, "/accounts/me/scheduled").json()["items"] == []
    assert _ids(_get(http, brand, "/accounts/me/drafts").json()) == [post["id"]]

    r = http.post(url + "/publish", headers=brand.headers, json={"publish_at": _at(seconds=1)})
    assert r.status_code == 200 and r.json()["status"] == "scheduled", r.text
    assert feed.wait_in_home(fan, post["id"]) == [post["id"]]
    published = http.patch(url, headers=brand.headers, json={"publish_at": _at(hours=1)})
    assert published.status_code == 409


def test_a_deleted_scheduled_post_never_goes_out(feed, make_account, http, app):
    from feed import planning, posts

    brand, fan = make_account("merchant"), make_account("fan")
    feed.follow(fan, brand)
    gone = feed.post(brand, text="取消的活动", publish_at=_at(hours=1))
    kept = feed.post(brand, text="保留的活动", publish_at=_at(hours=1))
    assert http.delete(f"{http.base}/posts/{gone['id']}", headers=brand.headers).status_code == 204
    with app.app_context():
        assert posts.release_due(datetime.now(UTC) + timedelta(hours=2)) == 1
        assert posts.release_due(datetime.now(UTC) + timedelta(hours=2)) == 0  # idempotent
        assert planning.take_due(datetime.now(UTC) + timedelta(days=1)) == []
    assert feed.wait_in_home(fan, kept["id"]) == [kept["id"]]
    assert _get(http, brand, f"/posts/{gone['id']}").status_code == 404


def test_the_mongodb_sweep_restores_a_schedule_redis_lost(feed, make_account, http, app):
    from feed import planning, posts

    brand, fan = make_account("merchant"), make_account("fan")
    feed.follow(fan, brand)
    post = feed.post(brand, text="Redis 丢了也要发", publish_at=_at(minutes=30))
    with app.app_context():
        app.extensions["redis"].delete(planning.DUE_KEY)
        later = datetime.now(UTC) + timedelta(minutes=31)
        assert posts.release_due(later) == 0  # nothing left in Redis
        assert posts.sweep_scheduled(60, later) == 1
        assert posts.sweep_scheduled(60, later) == 0
    assert feed.wait_in_home(fan, post["id"]) == [post["id"]]


def test_moderation_applies_when_the_post_goes_out(feed, make_account, http, app):
    from feed import posts

    brand, moderator = make_account("merchant"), make_account("fan", roles=("moderator",))
    held = feed.post(brand, text="限时秒杀 全场", publish_at=_at(hours=1))
    blocked = feed.post(brand, text="内部代购 渠道", publish_at=_at(hours=1))
    draft = feed.post(brand, text="秒杀 预告", draft=True)
    r = http.put(http.base + "/moderation/terms", headers=moderator.headers,
                 json={"block": ["代购"], "review": ["秒杀"]})
    assert r.status_code == 200, r.text

    with app.app_context():
        assert posts.release_due(datetime.now(UTC) + timedelta(hours=2)) == 1
    assert _get(http, brand, f"/posts/{held['id']}").json()["status"] == "pending_review"
    failed = _get(http, brand, f"/posts/{blocked['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "content_blocked"
    queue = _get(http, moderator, "/moderation/queue", status="pending").json()["items"]
    assert held["id"] in {item["target"]["id"] for item in queue}

    r = http.post(f"{http.base}/posts/{draft['id']}/publish", headers=brand.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("planned-clips") / "entry.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=1", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return path


def test_campaign_windows_apply_when_the_entry_goes_out(feed, make_account, http, app, clip):
    from feed import posts
    from feed.models import Campaign

    brand, fan = make_account("merchant"), make_account("fan")
    now = datetime.now(UTC)
    with app.app_context():
        ended = Campaign(merchant=brand.id, title="已结束", tag="t", starts_at=now - timedelta(days=2),
                         ends_at=now - timedelta(days=1)).save()
        closing = Campaign(merchant=brand.id, title="快结束", tag="t", starts_at=now - timedelta(days=1),
                           ends_at=now + timedelta(hours=1)).save()
    with open(clip, "rb") as fh:
        media = requests.post(http.base + "/media", headers=fan.headers,
                              files={"file": ("entry.mp4", fh)}, timeout=60).json()["id"]
    entry = {"kind": "video", "text": "我的参赛视频", "media_ids": [media]}

    draft = feed.post(fan, **entry, campaign_id=str(ended.id), draft=True)
    r = http.post(f"{http.base}/posts/{draft['id']}/publish", headers=fan.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "campaign_closed"
    late = feed.post(fan, expect=422, **entry, campaign_id=str(closing.id), publish_at=_at(hours=2))
    assert late["error"]["code"] == "campaign_closed"

    scheduled = feed.post(fan, **entry, campaign_id=str(closing.id), publish_at=_at(minutes=30))
    with app.app_context():
        Campaign.objects(id=closing.id).update_one(set__ends_at=now + timedelta(minutes=10))
        posts.release_due(datetime.now(UTC) + timedelta(minutes=31))
    failed = _get(http, fan, f"/posts/{scheduled['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "campaign_closed"
