"""Out-of-range times and numbers (issue 15, finding 11): every one is a 400, never a 500.

A time that parses but cannot be carried to UTC (``9999-12-31T23:59:59-12:00`` is year
10000 in UTC, ``0001-01-01T00:00:00+14:00`` year 0), or a cursor holding a number no page
ever made, used to reach ``datetime`` arithmetic and answer 500. Times are read by one
helper (``app/times.py``) and cursors by one decoder (``app/pagination.py``), so every field
and every paged route is covered, not only the ones the attack tried.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

EXTREME_TIMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                 "9999-12-31T23:59:59.999999Z", "0001-01-01", "0001-01-01T00:00:00Z",
                 "1500-01-01T00:00:00Z", "5000-01-01T00:00:00+00:00"]
BIG = 99999999999999999999  # the finding's 20 digits


def encode_cursor(value) -> str:
    """As the API encodes cursors, but for numbers it never would (orjson refuses them)."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _assert_400(r, field: str) -> None:
    assert r.status_code == 400, (field, r.status_code, r.text[:300])
    error = r.json()["error"]
    assert error["code"] in ("validation_error", "invalid_cursor"), error
    assert field in (error.get("fields") or {}), error


def test_the_findings_four_requests_are_400(http, world):
    now = datetime.now(UTC)
    r = http.post(http.base + "/campaigns", headers=world.merchant.headers, json={
        "title": "t", "description": "d", "tag": "t", "starts_at": now.isoformat(),
        "ends_at": "9999-12-31T23:59:59-12:00"})
    _assert_400(r, "ends_at")
    for name in ("since", "until"):
        r = http.get(f"{http.base}/search?q=abc&{name}=0001-01-01T00:00:00%2B14:00")
        _assert_400(r, name)
    r = http.post(http.base + "/notifications/read", headers=world.fan.headers,
                  json={"up_to": "9999-12-31T23:59:59-12:00"})
    _assert_400(r, "up_to")
    cursor = "WyJuZXciLDk5OTk5OTk5OTk5OTk5OTk5OTk5LCI2YjE2YWM3ZDg4N2RmZjkxYzJlZGJlZGEiXQ"
    r = http.get(f"{http.base}/campaigns/{world.campaign['id']}/entries?cursor={cursor}")
    _assert_400(r, "cursor")


def test_every_time_field_refuses_out_of_range_values(http, world):
    now = datetime.now(UTC)
    soon = (now + timedelta(days=1)).isoformat()
    for value in EXTREME_TIMES:
        for field in ("starts_at", "ends_at"):
            body = {"title": "t", "description": "d", "tag": "t", "starts_at": now.isoformat(),
                    "ends_at": soon, field: value}
            r = http.post(http.base + "/campaigns", headers=world.merchant.headers, json=body)
            _assert_400(r, field)
        r = http.post(http.base + "/posts", headers=world.merchant.headers,
                      json={"kind": "post", "text": "later", "publish_at": value})
        _assert_400(r, "publish_at")
        r = http.post(http.base + "/notifications/read", headers=world.fan.headers,
                      json={"up_to": value})
        _assert_400(r, "up_to")
        for name in ("since", "until"):
            r = http.get(http.base + "/search", params={"q": "hello", name: value})
            _assert_400(r, name)
    # in range, everything still works
    r = http.get(http.base + "/search", params={"q": "hello", "since": "2020-01-01",
                                                "until": "2099-01-01T00:00:00+08:00"})
    assert r.status_code == 200, r.text
    r = http.post(http.base + "/notifications/read", headers=world.fan.headers,
                  json={"up_to": "2026-01-01T00:00:00-12:00"})
    assert r.status_code == 204, r.text


def _paged_routes(world) -> list[tuple[str, dict]]:
    return [
        (f"/accounts/{world.merchant.id}/followers", {}),
        (f"/accounts/{world.merchant.id}/posts", {}),
        (f"/accounts/{world.merchant.id}/campaigns", {}),
        (f"/posts/{world.post['id']}/comments", {}),
        (f"/campaigns/{world.campaign['id']}/entries", {}),
        (f"/campaigns/{world.campaign['id']}/entries?sort=views", {}),
        ("/channels/videos", {}),
        ("/feed/home", world.fan.headers),
        ("/notifications", world.merchant.headers),
        ("/moderation/queue", world.moderator.headers),
        ("/moderation/queue?status=all", world.moderator.headers),
        ("/moderation/audit", world.moderator.headers),
        ("/search?q=hello", {}),
        ("/trends/tags", {}),
    ]


def test_cursors_with_out_of_range_numbers_and_times_are_400(http, world):
    oid = world.post["id"]
    values = [
        ["new", BIG, oid], ["views", BIG, oid], ["new", -BIG, oid], [BIG, oid], [-BIG, oid],
        [0, BIG, oid], [2, -BIG, oid], [BIG], BIG, -BIG, 2**63, [2**64, oid],
        ["9999-12-31T23:59:59-12:00", oid], ["0001-01-01T00:00:00+14:00", oid],
        {"after": [BIG, oid]}, {"offset": BIG}, ["new", 1e300, oid], [1e300, oid],
    ]
    for path, headers in _paged_routes(world):
        sep = "&" if "?" in path else "?"
        for value in values:
            r = http.get(f"{http.base}{path}{sep}cursor={encode_cursor(value)}", headers=headers)
            assert r.status_code in (200, 400), f"{path} {value}: {r.status_code} {r.text[:200]}"
            if r.status_code == 400:
                assert r.json()["error"]["code"] in ("invalid_cursor", "validation_error")
        r = http.get(f"{http.base}/feed/home?after={encode_cursor([BIG, oid])}",
                     headers=world.fan.headers)
        assert r.status_code in (200, 400), r.text
