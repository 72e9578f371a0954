"""Live events reach only viewers who may see them; rooms follow follows, blocks and profiles.

A negative ("this client got nothing") is checked behind a barrier: first a client that must
get the event gets it (so it was emitted), then the other client's acknowledgement, which
travels behind anything queued for it before.
"""

from __future__ import annotations

import pytest


def _ids(client, event: str = "feed.new") -> list[str]:
    return [e["post"]["id"] for e in client.events(event)]


def test_feed_new_respects_gender_and_interest_audiences(live, make_account, rest):
    author = make_account("merchant")
    fans = {
        "runner": make_account("fan", profile={"gender": "female", "interests": ["Running"]}),
        "cook": make_account("fan", profile={"gender": "male", "interests": ["cooking"]}),
        "unknown": make_account("fan"),
    }
    for fan in fans.values():
        rest.follow(fan, author)
    clients = {name: live(fan.token) for name, fan in fans.items()}
    anonymous_page = live()
    signed_page = live(make_account("fan", profile={"interests": ["running"]}).token)
    for client in (anonymous_page, signed_page):
        assert client.subscribe(account_id=author.id) == {"ok": True}

    women = rest.post(author, text="for women", audience={"gender": "female"})
    runners = rest.post(author, text="for runners", audience={"interests_any": ["running"]})
    everyone = rest.post(author, text="for everyone")

    expected = {"runner": {women["id"], runners["id"], everyone["id"]},
                "cook": {everyone["id"]}, "unknown": {everyone["id"]}}
    for name, ids in expected.items():
        for post_id in ids:
            clients[name].wait("feed.new", lambda e, p=post_id: e["post"]["id"] == p)
    signed_page.wait("account.post", lambda e: e["post"]["id"] == runners["id"])
    anonymous_page.wait("account.post", lambda e: e["post"]["id"] == everyone["id"])
    for name, client in clients.items():
        client.barrier()
        assert sorted(_ids(client)) == sorted(expected[name]), name
    anonymous_page.barrier()
    signed_page.barrier()
    assert _ids(anonymous_page, "account.post") == [everyone["id"]]
    assert sorted(_ids(signed_page, "account.post")) == sorted([runners["id"], everyone["id"]])


def test_subscriptions_to_what_the_viewer_may_not_see_are_refused(app, live, make_account,
                                                                   rest):
    from app.accounts import service

    author, blocked, male = make_account("merchant"), make_account("fan"), make_account(
        "fan", profile={"gender": "male"})
    public = rest.post(author, text="public")
    for_women = rest.post(author, text="women", audience={"gender": "female"})
    gone = rest.post(author, text="deleted soon")
    rest.call("DELETE", f"/posts/{gone['id']}", author, expect=204)
    removed = rest.post(author, text="removed by a moderator")
    with app.app_context():
        from feed import posts

        posts.set_status(posts.get(removed["id"]), "removed")
    rest.call("POST", f"/accounts/{blocked.id}/block", author)
    suspended = make_account("merchant")
    with app.app_context():
        service.set_suspended(service.get(suspended.id), True)

    anonymous, his, theirs = live(), live(male.token), live(blocked.token)
    refused = {"ok": False, "error": "not_found"}
    assert anonymous.subscribe(post_id=for_women["id"]) == refused
    assert his.subscribe(post_id=for_women["id"]) == refused
    assert his.subscribe(post_id=gone["id"]) == refused
    assert his.subscribe(post_id=removed["id"]) == refused
    assert his.subscribe(post_id="0" * 24) == refused
    assert his.subscribe(account_id=suspended.id) == refused
    assert theirs.subscribe(post_id=public["id"]) == refused
    assert theirs.subscribe(account_id=author.id) == refused
    assert anonymous.subscribe(post_id=public["id"]) == {"ok": True}
    assert his.subscribe(post_id=public["id"]) == {"ok": True}
    own = live(author.token)
    assert own.subscribe(post_id=for_women["id"]) == {"ok": True}  # authors see their own


def test_follow_unfollow_mute_and_block_move_a_connected_viewer(live, make_account, rest):
    author, fan, witness = make_account("merchant"), make_account("fan"), make_account("fan")
    rest.follow(witness, author)
    watching = live(witness.token)
    phone = live(fan.token)

    def publish(text: str) -> str:
        """Post, and return once the post's live events were emitted (the witness has it)."""
        post_id = rest.post(author, text=text)["id"]
        watching.wait("feed.new", lambda e: e["post"]["id"] == post_id)
        phone.barrier()
        return post_id

    rest.follow(fan, author)  # while connected: the rooms follow
    followed = publish("after the follow")
    assert _ids(phone) == [followed]
    rest.call("POST", f"/accounts/{author.id}/mute", fan)
    publish("while muted")
    assert _ids(phone) == [followed]
    rest.call("DELETE", f"/accounts/{author.id}/mute", fan)
    unmuted = publish("after unmuting")
    assert _ids(phone) == [followed, unmuted]
    rest.call("DELETE", f"/accounts/{author.id}/follow", fan)
    publish("after the unfollow")
    assert _ids(phone) == [followed, unmuted]

    # a block drops the blocked viewer's page and post subscriptions too
    post_id = publish("subscribe to me")
    assert phone.subscribe(account_id=author.id) == {"ok": True}
    assert phone.subscribe(post_id=post_id) == {"ok": True}
    rest.call("POST", f"/accounts/{fan.id}/block", author)
    rest.call("POST", f"/posts/{post_id}/comments", witness, json={"text": "still here"})
    watching_post = live(witness.token)
    assert watching_post.subscribe(post_id=post_id) == {"ok": True}
    rest.call("POST", f"/posts/{post_id}/comments", witness, json={"text": "second"})
    watching_post.wait("comment.new", lambda e: e["comment"]["text"] == "second")
    publish("after the block")
    assert phone.events("comment.new") == [] and phone.events("account.post") == []


@pytest.mark.parametrize("gender", ["female"])
def test_a_profile_change_moves_the_viewer_to_its_new_segment(live, make_account, rest, gender):
    author, fan = make_account("merchant"), make_account("fan")
    rest.follow(fan, author)
    phone = live(fan.token)
    rest.call("PATCH", "/accounts/me", fan, json={"profile": {"gender": gender, "interests": []}})
    post = rest.post(author, text="segment", audience={"gender": gender})
    phone.wait("feed.new", lambda e: e["post"]["id"] == post["id"])


def test_a_retargeted_post_stops_reaching_subscribers_who_may_no_longer_see_it(
        live, make_account, rest):
    """Issue 15 finding 4: subscribers of a public post kept getting ``comment.new`` (with
    its text) and ``post.counts`` after the author re-targeted it to women."""
    author = make_account("merchant")
    man = make_account("fan", profile={"gender": "male"})
    woman = make_account("fan", profile={"gender": "female"})
    post = rest.post(author, text="for everyone, for now")
    path = f"/posts/{post['id']}"
    clients = {"man": live(man.token), "woman": live(woman.token), "anonymous": live()}
    for client in clients.values():
        assert client.subscribe(post_id=post["id"]) == {"ok": True}
    rest.call("POST", f"{path}/comments", woman, json={"text": "first"})
    for client in clients.values():
        client.wait("comment.new", lambda e: e["comment"]["text"] == "first")
        client.wait("post.counts", lambda e: e["comment_count"] == 1)

    rest.call("PATCH", path, author, json={"audience": {"gender": "female"}})
    rest.call("GET", path, man, expect=404)
    rest.call("POST", f"{path}/comments", woman, json={"text": "只给女生看"})
    rest.call("POST", f"{path}/like", woman)
    clients["woman"].wait("comment.new", lambda e: e["comment"]["text"] == "只给女生看")
    clients["woman"].wait("post.counts", lambda e: e["like_count"] == 1)
    for name in ("man", "anonymous"):
        client = clients[name]
        client.barrier()
        assert [e["comment"]["text"] for e in client.events("comment.new")] == ["first"], name
        assert all(e["like_count"] == 0 and e["comment_count"] == 1
                   for e in client.events("post.counts")), name
        assert client.subscribe(post_id=post["id"]) == {"ok": False, "error": "not_found"}
