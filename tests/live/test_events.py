"""Every event of the contract, emitted where the change happens, received over a real socket."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.support import wait_for


def test_feed_new_carries_a_cursor_that_catches_up_after_a_reconnect(live, make_account, rest):
    author, fan = make_account("merchant"), make_account("fan")
    rest.follow(fan, author)
    phone = live(fan.token)
    first = rest.post(author, text="first")
    event = phone.wait("feed.new", lambda e: e["post"]["id"] == first["id"])
    assert event["post"]["text"] == "first" and event["post"]["author"]["id"] == author.id
    assert event["cursor"] == event["post"]["cursor"]

    phone.disconnect()  # offline: Socket.IO delivers at most once, REST catches up
    missed = [rest.post(author, text=f"missed {i}")["id"] for i in range(2)]

    def caught_up() -> list[str]:
        page = rest.call("GET", "/feed/home", fan, params={"after": event["cursor"]})
        return [p["id"] for p in page["items"]]

    wait_for(lambda: caught_up() == missed[::-1])  # newest first, nothing older than the cursor
    phone = live(fan.token)  # a reconnect rebuilds the rooms
    later = rest.post(author, text="after the reconnect")
    phone.wait("feed.new", lambda e: e["post"]["id"] == later["id"])
    phone.barrier()
    received = [e["post"]["id"] for e in phone.events("feed.new")]
    assert received.count(later["id"]) == 1 and first["id"] not in received


def test_the_author_and_pulled_authors_followers_get_feed_new(app, live, make_account, rest,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "FANOUT_MAX_FOLLOWERS", 1)  # the author is pulled
    author, fans = make_account("influencer"), [make_account("fan") for _ in range(2)]
    for fan in fans:
        rest.follow(fan, author)
    clients = [live(fan.token) for fan in fans]
    own = live(author.token)
    post = rest.post(author, text="big author")
    for client in [*clients, own]:
        client.wait("feed.new", lambda e: e["post"]["id"] == post["id"])
        client.barrier()
        assert len(client.events("feed.new")) == 1


def test_account_post_reaches_page_subscribers_even_anonymous(live, make_account, rest):
    author, reader = make_account("merchant"), make_account("fan")
    anonymous, signed_in, other = live(), live(reader.token), live(make_account("fan").token)
    for client in (anonymous, signed_in):
        assert client.subscribe(account_id=author.id) == {"ok": True}
    post = rest.post(author, text="on my page")
    for client in (anonymous, signed_in):
        assert client.wait("account.post")["post"]["id"] == post["id"]
    other.barrier()
    assert other.events("account.post") == [] and signed_in.events("feed.new") == []
    assert signed_in.call("unsubscribe", {"account_id": author.id}) == {"ok": True}
    rest.post(author, text="after unsubscribing")
    anonymous.wait("account.post", lambda e: e["post"]["text"] == "after unsubscribing")
    signed_in.barrier()
    assert len(signed_in.events("account.post")) == 1


def test_counts_are_coalesced_and_comments_arrive(app, live, make_account, rest):
    from app.accounts import service
    from feed import interactions

    author = make_account("merchant")
    post = rest.post(author, text="like me")
    watcher = live(make_account("fan").token)
    assert watcher.subscribe(post_id=post["id"]) == {"ok": True}
    likers = [make_account("fan") for _ in range(20)]
    with app.app_context():
        for liker in likers:  # a burst: twenty likes within a fraction of a second
            interactions.like(service.get(liker.id), post["id"])
    final = watcher.wait("post.counts", lambda e: e["like_count"] == 20)
    assert final == {"post_id": post["id"], "like_count": 20, "comment_count": 0,
                     "view_count": 0}
    assert len(watcher.events("post.counts")) < 20

    comment = rest.call("POST", f"/posts/{post['id']}/comments", likers[0], json={"text": "nice"})
    event = watcher.wait("comment.new")
    assert event["post_id"] == post["id"] and event["comment"]["id"] == comment["id"]
    assert event["comment"]["text"] == "nice"
    watcher.wait("post.counts", lambda e: e["comment_count"] == 1)


def test_notifications_carry_the_unread_count(live, make_account, rest):
    author, fan = make_account("merchant"), make_account("fan")
    inbox = live(author.token)
    rest.follow(fan, author)
    post = rest.post(author, text="hello")
    rest.call("POST", f"/posts/{post['id']}/like", fan)
    follow = inbox.wait("notification", lambda e: e["type"] == "follow")
    like = inbox.wait("notification", lambda e: e["type"] == "like")
    assert follow["actor"]["id"] == fan.id and follow["unread_count"] == 1
    assert like["post_id"] == post["id"] and like["unread_count"] == 2


def test_moderation_decisions_reach_the_author(live, make_account, rest):
    author = make_account("merchant")
    moderator = make_account("fan", roles=("moderator",))
    post = rest.post(author, text="questionable")
    for reporter in [make_account("fan") for _ in range(2)]:
        rest.call("POST", f"/posts/{post['id']}/reports", reporter, json={"reason": "spam"})
    inbox = live(author.token)
    queue = rest.call("GET", "/moderation/queue", moderator)["items"]
    item = next(i for i in queue if i["target_id"] == post["id"])
    rest.call("POST", f"/moderation/queue/{item['id']}/decision", moderator,
              json={"action": "remove", "reason": "spam"})
    event = inbox.wait("moderation.decision")
    assert event == {"target_type": "post", "target_id": post["id"], "action": "remove",
                     "reason": "spam"}


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "tiny.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=15:duration=0.6", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True,
                   timeout=60)
    return path


def _upload(server, actor, name: str, body: bytes) -> dict:
    response = requests.post(f"{server.url}/api/v1/media", headers=actor.headers,
                             files={"file": (name, body)}, timeout=60)
    assert response.status_code == 202, response.text
    return response.json()


def _media_id(event: dict) -> str:
    """The media an event is about: ``media_id``, or ``media.id`` for ``media.ready``."""
    return event["media_id"] if "media_id" in event else event["media"]["id"]


def _media_events(client) -> list[tuple[str, str]]:
    return [(name, _media_id(data)) for name, data in client.received if name.startswith("media.")]


def test_media_progress_ready_and_failed_reach_only_the_owner(server, live, make_account,
                                                             tiny_video):
    owner = make_account("fan")
    phone, stranger = live(owner.token), live(make_account("fan").token)
    video = _upload(server, owner, "tiny.mp4", tiny_video.read_bytes())
    broken = _upload(server, owner, "broken.mp4", tiny_video.read_bytes()[:2000])
    ready = phone.wait("media.ready", lambda e: _media_id(e) == video["id"], timeout=60)
    failed = phone.wait("media.failed", lambda e: _media_id(e) == broken["id"], timeout=60)
    assert set(ready) == {"media"} and ready["media"]["status"] == "ready"
    assert set(failed) == {"media_id", "error"} and failed["error"]["code"]
    progress = [e for e in phone.events("media.progress") if e["media_id"] == video["id"]]
    assert all(set(e) == {"media_id", "status", "progress"} for e in progress)
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    names = [name for name, media_id in _media_events(phone) if media_id == video["id"]]
    assert names[-1] == "media.ready" and set(names) <= {"media.progress", "media.ready"}
    stranger.barrier()
    assert _media_events(stranger) == []
