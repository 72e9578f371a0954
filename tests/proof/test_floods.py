"""Upload floods: past the upload allowance an account gets a 429 with Retry-After.

Both ways in count (multipart ``POST /media`` and tus ``POST /uploads``); the refusal comes
before the body is read, so a flood costs the server almost nothing. Other accounts are not
affected.
"""

from __future__ import annotations

import io

import pytest

from tests.support import Actor

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def real_limits(app):
    saved = app.config.get("RATELIMIT_SCALE")
    app.config["RATELIMIT_SCALE"] = 1
    yield
    app.config["RATELIMIT_SCALE"] = saved


def _multipart(http, actor: Actor):
    junk = io.BytesIO(b"not a video at all" * 10)
    return http.post(http.base + "/media", files={"file": ("x.mp4", junk, "video/mp4")},
                     headers=actor.headers)


def _tus(http, actor: Actor):
    return http.post(http.base + "/uploads", headers={**actor.headers, **TUS,
                                                      "Upload-Length": "1000"})


def _assert_flood_stopped(responses, what: str) -> None:
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), f"{what}: {statuses}"
    limited = [r for r in responses if r.status_code == 429]
    assert limited, f"{what}: no 429 in {statuses}"
    first = statuses.index(429)
    assert all(s == 429 for s in statuses[first:]), f"{what}: {statuses}"
    for r in limited:
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["error"]["code"] == "rate_limited"


def test_upload_floods_get_429_with_retry_after(http, make_account, real_limits):
    flooder, bystander = make_account("fan"), make_account("fan")
    _assert_flood_stopped([_multipart(http, flooder) for _ in range(45)], "multipart")
    _assert_flood_stopped([_tus(http, flooder) for _ in range(45)], "tus")
    assert _tus(http, bystander).status_code == 201  # limits are per account


def test_other_write_floods_get_429_with_retry_after(http, make_account, real_limits, world):
    flooder = make_account("fan")
    posts = [http.post(http.base + "/posts", json={"kind": "post", "text": f"flood {i}"},
                       headers=flooder.headers) for i in range(8)]
    _assert_flood_stopped(posts, "posts")
    comments = [http.post(f"{http.base}/posts/{world.post['id']}/comments",
                          json={"text": f"c{i}"}, headers=flooder.headers) for i in range(12)]
    _assert_flood_stopped(comments, "comments")
    logins = [http.post(http.base + "/auth/token", json={"username": world.fan.username,
                                                         "password": f"guess{i}"})
              for i in range(12)]
    _assert_flood_stopped(logins, "password guessing")
