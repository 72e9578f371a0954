"""Helpers for feed tests: publishing and reading over real HTTP."""

from __future__ import annotations

import pytest

from tests.support import wait_for


class Feed:
    def __init__(self, http) -> None:
        self.http = http
        self.base = http.base

    def post(self, actor, expect: int = 201, **body) -> dict:
        body.setdefault("kind", "post")
        r = self.http.post(self.base + "/posts", json=body, headers=actor.headers)
        assert r.status_code == expect, r.text
        return r.json()

    def follow(self, fan, author) -> dict:
        r = self.http.post(f"{self.base}/accounts/{author.id}/follow", headers=fan.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def home(self, actor, **params) -> dict:
        r = self.http.get(self.base + "/feed/home", params=params, headers=actor.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def home_ids(self, actor, **params) -> list[str]:
        return [p["id"] for p in self.home(actor, **params)["items"]]

    def wait_in_home(self, actor, post_id: str) -> list[str]:
        return wait_for(lambda: (ids := self.home_ids(actor, limit=100)) and post_id in ids and ids)


@pytest.fixture
def feed(http) -> Feed:
    return Feed(http)
