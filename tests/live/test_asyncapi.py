"""The live contract: /api/asyncapi.json is a valid AsyncAPI 3 document listing every event,
and what a real client receives over a real socket conforms to it."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from tests.live_contract import problems, validators
from tests.support import node_tools

SERVER_EVENTS = {"feed.new", "account.post", "post.counts", "comment.new", "media.progress",
                 "media.ready", "media.failed", "moderation.decision", "notification"}


@pytest.fixture(scope="module")
def document(server) -> dict:
    r = requests.get(server.url + "/api/asyncapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    return r.json()


def test_every_event_is_listed(document):
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    actions = {}
    for op in document["operations"].values():
        for ref in op["messages"]:
            actions[messages[ref["$ref"].rsplit("/", 1)[-1]]["name"]] = op["action"]
    assert {e for e, a in actions.items() if a == "send"} == SERVER_EVENTS
    assert {e for e, a in actions.items() if a == "receive"} == {"subscribe", "unsubscribe"}
    post = document["components"]["schemas"]["FeedNewEvent"]["properties"]["post"]
    assert post == {"$ref": "#/components/schemas/Post"}  # the REST schema, not a copy


def test_the_asyncapi_parser_finds_no_errors(document, tmp_path):
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    tools = node_tools()
    result = subprocess.run(["node", str(tools / "validate-asyncapi.mjs"), str(path)],
                            cwd=tools, capture_output=True, text=True, timeout=120)
    diagnostics = json.loads(result.stdout)
    assert [d for d in diagnostics if d["severity"] == 0] == []
    assert result.returncode == 0, result.stderr


def test_what_a_client_receives_conforms(document, live, make_account, rest):
    checks = validators(document)
    author = make_account("merchant")
    fan = make_account("fan")
    moderator = make_account("fan", roles=("moderator",))
    rest.follow(fan, author)
    fan_live, author_live = live(fan.token), live(author.token)
    page = live()
    assert page.subscribe(account_id=author.id) == {"ok": True}
    refused = page.subscribe(post_id="0" * 24)
    assert refused == {"ok": False, "error": "not_found"}
    post = rest.post(author, text=f"新品 @{fan.username}")
    assert fan_live.subscribe(post_id=post["id"]) == {"ok": True}
    rest.call("POST", f"/posts/{post['id']}/like", fan)
    rest.call("POST", f"/posts/{post['id']}/comments", fan, json={"text": "好喝"})
    for reporter in [make_account("fan") for _ in range(2)]:
        rest.call("POST", f"/posts/{post['id']}/reports", reporter, json={"reason": "spam"})
    item = next(i for i in rest.call("GET", "/moderation/queue", moderator)["items"]
                if i["target_id"] == post["id"])
    rest.call("POST", f"/moderation/queue/{item['id']}/decision", moderator,
              json={"action": "approve", "reason": "fine"})
    received = {
        "feed.new": fan_live.wait("feed.new"),
        "account.post": page.wait("account.post"),
        "post.counts": fan_live.wait("post.counts"),
        "comment.new": fan_live.wait("comment.new"),
        "notification": fan_live.wait("notification"),
        "moderation.decision": author_live.wait("moderation.decision"),
    }
    for event, payload in received.items():
        assert problems(event, payload, checks) == [], event
    assert problems("feed.new", {"post": {"id": 1}}, checks)  # the check does check
