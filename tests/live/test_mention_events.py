"""Mentions and replies reach the account live, as `notification` events over a real socket."""

from __future__ import annotations


def test_mentions_and_replies_arrive_live(live, make_account, rest):
    author, mei, fan = make_account("merchant"), make_account(), make_account()
    inbox = live(mei.token)
    post = rest.post(author, text=f"新品 @{mei.username}")
    mention = inbox.wait("notification", lambda e: e["type"] == "mention")
    assert mention["post_id"] == post["id"] and mention["actor"]["id"] == author.id
    assert mention["unread_count"] == 1
    mine = rest.call("POST", f"/posts/{post['id']}/comments", mei, json={"text": "谢谢"})
    answer = rest.call("POST", f"/posts/{post['id']}/comments", fan,
                       json={"text": "same", "reply_to": mine["id"]})
    reply = inbox.wait("notification", lambda e: e["type"] == "reply")
    assert reply["comment_id"] == answer["id"] and reply["unread_count"] == 2
