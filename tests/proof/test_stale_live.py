"""Stale live subscriptions (issue 15 finding 4): a subscription made while a post was
public must not outlive the viewer's right to see it. The attacker subscribes to a public
post, then the post is re-targeted, held for review, or its author blocks the attacker;
comments (with their text) and counts keep coming before the fix. A subscriber who may
still see the post is the control: once it has the events, the attacker's acknowledgement
(which travels behind anything queued for it) shows it got none.
"""

from __future__ import annotations

import pytest

from tests.live.conftest import LiveClient, _Server


@pytest.fixture(scope="module")
def live_server(app):
    """The app on a websocket-ready socket (closes the TCP connection when a websocket ends)."""
    serving = _Server(app)
    yield serving
    serving.httpd.shutdown()


@pytest.fixture
def live(live_server):
    clients: list[LiveClient] = []

    def connect(token: str | None = None) -> LiveClient:
        client = LiveClient(live_server.url)
        clients.append(client)
        return client.connect(token)

    yield connect
    for client in clients:
        client.disconnect()


def _change(http, world, how: str, attacker) -> None:
    base, post = http.base, world.post["id"]
    if how == "retargeted":
        r = http.patch(f"{base}/posts/{post}", json={"audience": {"gender": "female"}},
                       headers=world.merchant.headers)
    elif how == "held":
        http.put(f"{base}/moderation/terms", json={"block": [], "review": ["刷单"]},
                 headers=world.moderator.headers)
        r = http.patch(f"{base}/posts/{post}", json={"text": "兼职刷单"},
                       headers=world.merchant.headers)
        assert r.json()["status"] == "pending_review"
    else:  # the author blocks the attacker
        r = http.post(f"{base}/accounts/{attacker.id}/block", headers=world.merchant.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("how", ["retargeted", "held", "blocked"])
def test_a_stale_subscription_gets_no_comments_or_counts(http, world, make_account, live, how):
    attacker = make_account("fan", profile={"gender": "male"})
    # the control may see the post whatever happens to it: a woman, or the moderator
    control_account = world.moderator if how == "held" else make_account(
        "fan", profile={"gender": "female"})
    post = world.post["id"]
    attacker_live, anonymous, control = live(attacker.token), live(), live(control_account.token)
    watchers = [attacker_live] + ([anonymous] if how != "blocked" else [])
    for client in (*watchers, control):
        assert client.subscribe(post_id=post) == {"ok": True}
    _change(http, world, how, attacker)
    r = http.post(f"{http.base}/posts/{post}/comments", json={"text": "secret 秘密"},
                  headers=world.merchant.headers)
    assert r.status_code == 201, r.text
    assert http.post(f"{http.base}/posts/{post}/like",
                     headers=world.merchant.headers).status_code == 200
    control.wait("comment.new", lambda e: e["comment"]["text"] == "secret 秘密")
    control.wait("post.counts", lambda e: e["like_count"] == 1)
    for client in watchers:
        client.barrier()
        assert client.events("comment.new") == [], how
        assert [e for e in client.events("post.counts") if e["like_count"]] == [], how
        assert client.subscribe(post_id=post) == {"ok": False, "error": "not_found"}
