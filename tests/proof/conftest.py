"""Fixtures of the proof suite: a small world of real accounts and content to attack."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import Actor


@dataclass
class World:
    """Accounts, a post, a comment and a campaign made over real HTTP; ids by parameter name."""

    fan: Actor
    merchant: Actor
    other_fan: Actor
    moderator: Actor
    post: dict
    comment: dict
    campaign: dict
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(http, make_account) -> World:
    fan = make_account("fan")
    merchant = make_account("merchant")
    other_fan = make_account("fan")
    moderator = make_account("fan", roles=("moderator",))
    r = http.post(http.base + "/posts", json={"kind": "post", "text": "hello world #proof"},
                  headers=merchant.headers)
    assert r.status_code == 201, r.text
    post = r.json()
    r = http.post(f"{http.base}/posts/{post['id']}/comments", json={"text": "nice"},
                  headers=fan.headers)
    assert r.status_code == 201, r.text
    comment = r.json()
    now = datetime.now(UTC)
    r = http.post(http.base + "/campaigns", headers=merchant.headers, json={
        "title": "Summer", "description": "show us", "tag": "summer",
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat()})
    assert r.status_code == 201, r.text
    campaign = r.json()
    ids = {"post_id": post["id"], "comment_id": comment["id"], "campaign_id": campaign["id"],
           "ref": merchant.id, "account_id": fan.id}
    return World(fan, merchant, other_fan, moderator, post, comment, campaign, ids)
