"""Bounds an account cannot stretch (issue 15): a campaign's window, and the resumable
uploads one account may hold open (each may sit on disk for a day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import pytest

TUS = {"Tus-Resumable": "1.0.0"}


def _campaign(http, merchant, starts_at: str, ends_at: str):
    return http.post(http.base + "/campaigns", headers=merchant.headers, json={
        "title": "Summer", "description": "show us", "tag": "summer",
        "starts_at": starts_at, "ends_at": ends_at})


@pytest.mark.parametrize("starts, ends, why", [
    ("now", "9999-12-31T23:59:59-12:00", "the year 9999"),
    ("now", "9999-12-31T23:59:59+14:00", "the year 9999"),
    ("now", "+400d", "more than a year ahead"),
    ("0001-01-01T00:00:00+14:00", "+7d", "began in year 1"),
    ("-300d", "+100d", "lasts 400 days"),
])
def test_a_campaign_window_is_bounded(http, make_account, starts, ends, why):
    merchant = make_account("merchant")
    now = datetime.now(UTC)

    def when(value: str) -> str:
        if value == "now":
            return now.isoformat()
        if value.endswith("d"):
            return (now + timedelta(days=int(value[:-1]))).isoformat()
        return value

    r = _campaign(http, merchant, when(starts), when(ends))
    assert r.status_code == 400, (why, r.status_code, r.text)
    error = r.json()["error"]
    # the field at fault: a start in year 1 is out of app.times' range itself
    field = "starts_at" if why == "began in year 1" else "ends_at"
    assert error["code"] == "validation_error" and field in error["fields"], (why, error)


def test_a_campaign_within_the_bound_is_accepted(http, make_account):
    merchant = make_account("merchant")
    now = datetime.now(UTC)
    r = _campaign(http, merchant, (now - timedelta(days=1)).isoformat(),
                  (now + timedelta(days=364)).isoformat())
    assert r.status_code == 201, r.text


def _open(http, actor, length: int = 1000):
    return http.post(http.base + "/uploads", headers={**actor.headers, **TUS,
                                                      "Upload-Length": str(length)})


def test_open_uploads_per_account_are_bounded(app, http, make_account):
    fan, other = make_account("fan"), make_account("fan")
    opened = [_open(http, fan) for _ in range(5)]
    assert [r.status_code for r in opened] == [201] * 5
    refused = _open(http, fan)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "upload_quota"
    assert int(refused.headers["Retry-After"]) > 0
    assert _open(http, other).status_code == 201  # per account
    # Cancelling one frees its place.
    location = urljoin(http.base, opened[0].headers["Location"])
    assert http.delete(location, headers={**fan.headers, **TUS}).status_code == 204
    assert _open(http, fan).status_code == 201
    assert _open(http, fan).status_code == 429


def test_bytes_of_open_uploads_per_account_are_bounded(app, http, make_account):
    fan = make_account("fan")
    saved = app.config["UPLOAD_QUOTA_BYTES"]
    app.config["UPLOAD_QUOTA_BYTES"] = 3000
    try:
        assert _open(http, fan, 1000).status_code == 201
        assert _open(http, fan, 1500).status_code == 201
        r = _open(http, fan, 1000)
        assert r.status_code == 429 and r.json()["error"]["code"] == "upload_quota"
        assert _open(http, fan, 500).status_code == 201  # what still fits
    finally:
        app.config["UPLOAD_QUOTA_BYTES"] = saved


def test_a_finished_upload_leaves_the_quota(app, http, make_account):
    fan = make_account("fan")
    opened = [_open(http, fan, 10) for _ in range(5)]
    assert all(r.status_code == 201 for r in opened)
    from media import service

    with app.app_context():  # its bytes became media (what POST /media {upload_id} does)
        store = service.upload_store()
        store.claim(store.get(opened[0].headers["Location"].rsplit("/", 1)[1]), "0" * 24)
    assert _open(http, fan).status_code == 201
    assert http.head(urljoin(http.base, opened[1].headers["Location"]),
                     headers={**fan.headers, **TUS}).status_code == 200
