"""The embedded default keeps its data: ``make run``'s server, stopped and started again on the
same VAR_DIR, still has every account, token, follow, post, comment, like, view, campaign,
media record and file, notification, home feed and search hit; ``kill -9`` loses at most the
last few seconds. All of it through HTTP against the real gunicorn process."""

from __future__ import annotations

import io
import signal
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from tests.servers.fanhub import MAKE_RUN, Process
from tests.support import on_server, wait_for

API = "/api/v1"


class Api:
    """Requests against one server, as the accounts registered here."""

    def __init__(self, server: Process) -> None:
        self.server = server

    def call(self, method: str, path: str, token: str | None = None, expect: int = 200, **kw):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = requests.request(method, self.server.url + API + path, headers=headers, timeout=30, **kw)
        assert r.status_code == expect, (method, path, r.status_code, r.text[:500])
        return r.json() if r.content else None

    def register(self, username: str, kind: str) -> tuple[str, str]:
        body = self.call("POST", "/auth/register", expect=201, json={
            "username": username, "password": "a long password", "display_name": username,
            "kind": kind})
        return body["account"]["id"], body["token"]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _write_one_of_each(api: Api) -> dict:
    """Every kind of record, written through the API; returns what to read back."""
    brand, brand_token = api.register("restartbrand", "merchant")
    fan, fan_token = api.register("restartfan", "fan")
    api.call("POST", f"/accounts/{brand}/follow", fan_token, json={})
    post = api.call("POST", "/posts", brand_token, expect=201,
                    json={"kind": "post", "text": "重启之后 龙井 still here", "tags": ["restart"]})
    api.call("POST", f"/posts/{post['id']}/like", fan_token)
    comment = api.call("POST", f"/posts/{post['id']}/comments", fan_token, expect=201,
                       json={"text": "kept across restarts"})
    api.call("POST", f"/posts/{post['id']}/view", fan_token, expect=204)
    now = datetime.now(UTC)
    campaign = api.call("POST", "/campaigns", brand_token, expect=201, json={
        "title": "重启挑战", "description": "survives a restart", "tag": "#restart",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat()})
    media = api.call("POST", "/media", fan_token, expect=202,
                     files={"file": ("photo.png", _png(), "image/png")})
    # jobs (image, fan-out, indexing, notifications) on a machine that may be busy
    wait_for(lambda: api.call("GET", f"/media/{media['id']}", fan_token)["status"] == "ready", 60)
    wait_for(lambda: post["id"] in [p["id"] for p in api.call("GET", "/feed/home", fan_token)["items"]],
             60)
    wait_for(lambda: _search(api, "龙井"), 60)
    wait_for(lambda: len(api.call("GET", "/notifications", brand_token)["items"]) == 3, 60)
    return {"brand": (brand, brand_token), "fan": (fan, fan_token), "post": post["id"],
            "comment": comment["id"], "campaign": campaign["id"], "media": media["id"]}


def _search(api: Api, q: str) -> list[str]:
    hits = api.call("GET", "/search", params={"q": q, "type": "posts"})["items"]
    return [hit["post"]["id"] for hit in hits]


def _read_back(api: Api, written: dict) -> dict:
    """What a user sees of everything written, in a form to compare before and after."""
    brand, brand_token = written["brand"]
    fan, fan_token = written["fan"]
    post = api.call("GET", f"/posts/{written['post']}", fan_token)
    media = api.call("GET", f"/media/{written['media']}", fan_token)
    image = requests.get(on_server(api.server.url, media["url"]), timeout=10)
    notifications = api.call("GET", "/notifications", brand_token)
    login = api.call("POST", "/auth/token", json={"username": "restartfan", "password": "a long password"})
    return {
        "me": api.call("GET", "/accounts/me", fan_token)["username"],  # the old token still works
        "login": login["account"]["id"],
        "brand": {k: api.call("GET", f"/accounts/{brand}")[k] for k in ("followers_count", "posts_count")},
        "following": [a["id"] for a in api.call("GET", f"/accounts/{fan}/following")["items"]],
        "post": {k: post[k] for k in ("text", "status", "like_count", "comment_count", "view_count",
                                       "liked")},
        "comments": [c["id"] for c in api.call("GET", f"/posts/{written['post']}/comments")["items"]],
        "campaign": api.call("GET", f"/campaigns/{written['campaign']}")["title"],
        "media": (media["status"], media["width"], image.status_code, len(image.content) > 0),
        "notifications": sorted(n["type"] for n in notifications["items"]),
        "home": [p["id"] for p in api.call("GET", "/feed/home", fan_token)["items"]],
        "search": _search(api, "龙井"),
    }


@pytest.fixture
def var_dir(tmp_path):
    return tmp_path / "var"


def test_stopped_and_started_again_everything_is_still_there(var_dir):
    server = Process(MAKE_RUN, var_dir).start().wait_ready()
    try:
        api = Api(server)
        written = _write_one_of_each(api)
        before = _read_back(api, written)
    finally:
        code, _ = server.stop(signal.SIGTERM)
    assert code == 0, server.tail()
    assert before["post"]["like_count"] == before["post"]["view_count"] == 1
    assert before["search"] == before["home"] == [written["post"]]
    assert before["notifications"] == ["comment", "follow", "like"]

    again = Process(MAKE_RUN, var_dir).start().wait_ready()
    try:
        api = Api(again)
        after = _read_back(api, written)
    finally:
        again.stop(signal.SIGTERM)
    assert after == before


def test_kill_9_loses_at_most_the_last_seconds(var_dir):
    server = Process(MAKE_RUN, var_dir).start().wait_ready()
    try:
        api = Api(server)
        brand, token = api.register("killedbrand", "merchant")
        post = api.call("POST", "/posts", token, expect=201, json={"kind": "post", "text": "before the kill"})
        snapshot = var_dir / "store" / "fanhub.bson"
        # written to disk by the store's schedule within a few seconds, with nothing asked
        wait_for(lambda: snapshot.exists() and post["id"].encode() in _object_ids(snapshot), timeout=20)
    finally:
        server.kill()  # SIGKILL to gunicorn and its worker: no shutdown code runs

    again = Process(MAKE_RUN, var_dir).start().wait_ready()
    try:
        api = Api(again)
        assert api.call("GET", f"/posts/{post['id']}")["text"] == "before the kill"
        assert api.call("GET", "/accounts/me", token)["id"] == brand
        assert api.call("GET", f"/accounts/{brand}")["posts_count"] == 1
    finally:
        again.stop(signal.SIGTERM)


def _object_ids(path) -> bytes:
    """The snapshot's ObjectIds as hex (a post id appears once its document is written)."""
    import bson

    with open(path, "rb") as source:
        return b" ".join(str(doc["_id"]).encode() for doc in bson.decode_file_iter(source)
                         if "_id" in doc)
