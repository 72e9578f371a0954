"""Idempotency-Key over real HTTP: replays, reused keys, and real concurrent requests."""

from __future__ import annotations

import io
import json
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from tests.support import wait_for

KEY = "Idempotency-Key"


def _png(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def _post(http, actor, body: dict, key: str | None = None) -> requests.Response:
    headers = dict(actor.headers)
    if key:
        headers[KEY] = key
    return http.post(http.base + "/posts", json=body, headers=headers)


def _my_posts(http, actor) -> list[dict]:
    r = http.get(f"{http.base}/accounts/{actor.id}/posts", params={"limit": 100},
                 headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_same_key_same_body_replays_the_first_answer_once(http, make_account):
    author = make_account("merchant")
    key = str(uuid.uuid4())
    first = _post(http, author, {"kind": "post", "text": "新品上市 new tea"}, key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    # a retry that serialises the same JSON in another key order is the same request
    again = http.post(http.base + "/posts", headers={**author.headers, KEY: key,
                                                     "Content-Type": "application/json"},
                      data=json.dumps({"text": "新品上市 new tea", "kind": "post"}))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [p["id"] for p in _my_posts(http, author)] == [first.json()["id"]]


def test_same_key_other_body_is_422_and_creates_nothing(http, make_account):
    author = make_account("merchant")
    key = "retry-1"
    assert _post(http, author, {"kind": "post", "text": "one"}, key).status_code == 201
    other = _post(http, author, {"kind": "post", "text": "two"}, key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    # the key is bound to its route too: reusing it elsewhere is another request
    post_id = _my_posts(http, author)[0]["id"]
    like = http.post(f"{http.base}/posts/{post_id}/like", headers={**author.headers, KEY: key})
    assert like.status_code == 422
    assert [p["text"] for p in _my_posts(http, author)] == ["one"]


def test_keys_belong_to_one_account(http, make_account):
    a, b = make_account("merchant"), make_account("merchant")
    first = _post(http, a, {"kind": "post", "text": "same words"}, "shared-key")
    second = _post(http, b, {"kind": "post", "text": "same words"}, "shared-key")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers


def test_a_refused_request_is_not_kept(http, make_account):
    author = make_account("merchant")
    bad = _post(http, author, {"kind": "post"}, "k-after-400")
    assert bad.status_code == 400
    good = _post(http, author, {"kind": "post", "text": "fixed"}, "k-after-400")
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good.headers


def test_a_bad_key_is_400(http, make_account):
    author = make_account("merchant")
    r = _post(http, author, {"kind": "post", "text": "x"}, "k" * 256)
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {KEY: ["1 to 255 printable characters"]}
    assert _my_posts(http, author) == []


def _raw_request(url: str, method: str, path: str, headers: dict, body: bytes) -> socket.socket:
    """Open a connection and send all but the last byte of the request: the server has
    started the request and waits for the rest."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}",
             f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:-1])
    return sock


def _wait_claimed(app, actor) -> None:
    """Until the server holds the actor's key (a request of theirs has started)."""
    r = app.extensions["redis"]
    wait_for(lambda: any(r.scan_iter(match=f"idem:{{{actor.id}}}:*")))


def _finish(sock: socket.socket, last: bytes) -> tuple[int, dict]:
    sock.sendall(last)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body.strip() else {}


def test_a_second_request_while_the_first_runs_is_409(app, http, server, make_account):
    author = make_account("merchant")
    body = json.dumps({"kind": "post", "text": "慢慢来 slow network"}).encode()
    sock = _raw_request(server.url, "POST", "/api/v1/posts",
                        {**author.headers, KEY: "k-slow", "Content-Type": "application/json"},
                        body)
    _wait_claimed(app, author)  # the first request is in the server, its body half read
    busy = _post(http, author, json.loads(body), "k-slow")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_in_progress"
    assert "Retry-After" in busy.headers
    status, created = _finish(sock, body[-1:])
    assert status == 201
    replay = _post(http, author, json.loads(body), "k-slow")
    assert replay.status_code == 201 and replay.json()["id"] == created["id"]
    assert [p["id"] for p in _my_posts(http, author)] == [created["id"]]


def test_concurrent_retries_make_one_post(server, make_account):
    author = make_account("merchant")
    n = 8
    barrier = threading.Barrier(n)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def send():
        session = requests.Session()
        barrier.wait()
        r = session.post(server.url + "/api/v1/posts", json={"kind": "post", "text": "一次"},
                         headers={**author.headers, KEY: "k-burst"})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1
    assert all(r.status_code in (201, 409) for r in results), [r.status_code for r in results]
    for r in results:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "idempotency_in_progress"
    session = requests.Session()
    r = session.get(f"{server.url}/api/v1/accounts/{author.id}/posts", headers=author.headers)
    assert [p["id"] for p in r.json()["items"]] == list(created)


def _multipart(png: bytes, boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png + \
        f"\r\n--{boundary}--\r\n".encode()


def _upload(http, actor, body: bytes, boundary: str, key: str) -> requests.Response:
    return http.post(http.base + "/media", data=body, headers={
        **actor.headers, KEY: key, "Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_multipart_upload_retry_with_a_new_boundary_replays(http, make_account):
    fan = make_account()
    png = _png()
    first = _upload(http, fan, _multipart(png, "aaaa1111"), "aaaa1111", "up-1")
    assert first.status_code == 202, first.text
    again = _upload(http, fan, _multipart(png, "bbbb2222"), "bbbb2222", "up-1")
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = _upload(http, fan, _multipart(_png("blue"), "cccc3333"), "cccc3333", "up-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_multipart_upload_in_progress_is_409(app, http, server, make_account):
    fan = make_account()
    body = _multipart(_png("green"), "slowslow")
    sock = _raw_request(server.url, "POST", "/api/v1/media",
                        {**fan.headers, KEY: "up-slow",
                         "Content-Type": "multipart/form-data; boundary=slowslow"}, body)
    _wait_claimed(app, fan)
    busy = _upload(http, fan, body, "slowslow", "up-slow")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_in_progress"
    status, media = _finish(sock, body[-1:])
    assert status == 202 and media["status"] == "ready"
    replay = _upload(http, fan, body, "slowslow", "up-slow")
    assert replay.json()["id"] == media["id"]


def _days_ahead(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _twice(http, actor, path: str, **kwargs) -> tuple[requests.Response, requests.Response]:
    headers = {**actor.headers, KEY: f"k-{path}", **kwargs.pop("headers", {})}
    first = http.post(http.base + path, headers=headers, **kwargs)
    second = http.post(http.base + path, headers=headers, **kwargs)
    return first, second


@pytest.mark.parametrize("route", ["comment", "like", "follow", "report_post",
                                   "report_comment", "report_account", "campaign", "tus"])
def test_every_creating_post_replays(http, make_account, route):
    merchant, fan = make_account("merchant"), make_account()
    post = _post(http, merchant, {"kind": "post", "text": "hello"}).json()
    comment = http.post(f"{http.base}/posts/{post['id']}/comments", json={"text": "first"},
                        headers=merchant.headers).json()
    path, kwargs = {
        "comment": (f"/posts/{post['id']}/comments", {"json": {"text": "好喝"}}),
        "like": (f"/posts/{post['id']}/like", {}),
        "follow": (f"/accounts/{merchant.id}/follow", {}),
        "report_post": (f"/posts/{post['id']}/reports", {"json": {"reason": "spam"}}),
        "report_comment": (f"/comments/{comment['id']}/reports", {"json": {"reason": "spam"}}),
        "report_account": (f"/accounts/{merchant.id}/reports", {"json": {"reason": "spam"}}),
        "campaign": ("/campaigns", {"json": {"title": "夏日", "tag": "summer",
                                             "starts_at": _days_ahead(1),
                                             "ends_at": _days_ahead(10)}}),
        "tus": ("/uploads", {"headers": {"Tus-Resumable": "1.0.0", "Upload-Length": "100"}}),
    }[route]
    actor = merchant if route == "campaign" else fan
    first, second = _twice(http, actor, path, **kwargs)
    assert first.status_code in (200, 201), first.text
    assert second.status_code == first.status_code
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    if route == "tus":
        assert second.headers["Location"] == first.headers["Location"]
    if route == "comment":
        r = http.get(f"{http.base}/posts/{post['id']}/comments")
        assert [c["text"] for c in r.json()["items"]].count("好喝") == 1


def test_every_creating_post_declares_the_header(server):
    """A POST that answers 201 or 202 creates something: the contract offers the key."""
    spec = requests.get(server.url + "/api/openapi.json").json()
    creating = {path for path, ops in spec["paths"].items()
                if "post" in ops and {"201", "202"} & set(ops["post"]["responses"])}
    creating.discard("/api/v1/auth/register")  # anonymous; its retry is a 409 username_taken
    assert {"/api/v1/posts", "/api/v1/posts/{post_id}/comments", "/api/v1/media",
            "/api/v1/uploads", "/api/v1/campaigns"} <= creating
    for path in creating | {"/api/v1/posts/{post_id}/like", "/api/v1/accounts/{ref}/follow"}:
        params = spec["paths"][path]["post"].get("parameters", [])
        assert any(p["name"] == KEY and p["in"] == "header" for p in params), path
