"""View-count flood (issue 15, Low): one address inventing device ids cannot inflate views.

Anonymous views count per ``X-Device-Id``; a client that sends a new id with every request
used to add one view each time (300 requests, +300 ``view_count``, and campaign entries are
ranked by it). New device ids are now limited per address and post (``RATELIMIT_VIEW``).
"""

from __future__ import annotations

import uuid

import pytest

from tests.support import client_at, wait_for


@pytest.fixture
def real_limits(app):
    saved = app.config.get("RATELIMIT_SCALE")
    app.config["RATELIMIT_SCALE"] = 1
    yield
    app.config["RATELIMIT_SCALE"] = saved


_CLIENTS: dict = {}


def _view(http, post_id: str, device: str, address: str = "127.0.0.7", headers=None):
    client = _CLIENTS.setdefault(address, client_at(address))
    return client.post(f"{http.base}/posts/{post_id}/view",
                       headers={"X-Device-Id": device, **(headers or {})})


def _view_count(http, post_id: str) -> int:
    return http.get(f"{http.base}/posts/{post_id}").json()["view_count"]


def test_new_device_ids_from_one_address_stop_counting(http, make_account, real_limits, app):
    author = make_account("merchant")
    post = http.post(http.base + "/posts", json={"kind": "post", "text": "count me"},
                     headers=author.headers).json()
    statuses = [_view(http, post["id"], str(uuid.uuid4())).status_code for _ in range(300)]
    assert set(statuses) <= {204, 429}, sorted(set(statuses))
    allowed = int(app.config.get("RATELIMIT_VIEW", "20/hour").split("/")[0])
    assert statuses.count(204) == allowed, statuses[:20]
    assert statuses[allowed:] == [429] * (300 - allowed)  # every later new id refused
    assert wait_for(lambda: _view_count(http, post["id"]) == allowed)
    r = _view(http, post["id"], str(uuid.uuid4()))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.json()["error"]["code"] == "rate_limited"

    # a repeat of a device already counted is not a new id: it never uses the allowance up
    other = http.post(http.base + "/posts", json={"kind": "post", "text": "again"},
                      headers=author.headers).json()
    device = str(uuid.uuid4())
    assert all(_view(http, other["id"], device).status_code == 204 for _ in range(30))
    assert _view_count(http, other["id"]) == 1
    # other addresses, and signed-in viewers, still count
    assert _view(http, post["id"], str(uuid.uuid4()), address="127.0.0.8").status_code == 204
    fan = make_account("fan")
    assert _view(http, post["id"], "", headers=fan.headers).status_code == 204
    assert wait_for(lambda: _view_count(http, post["id"]) == allowed + 2)
