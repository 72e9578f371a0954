"""Look-alike usernames (issue 15, finding 7): every pattern must match the whole string.

``^...$`` with ``re.match`` accepts a trailing newline, so ``"merca\\n"`` registered next to
``merca`` and ``/m/merca%0A`` showed "@merca".
"""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests

LOOKALIKES = ["merca\n", "merca\r", "merca\r\n", " merca", "merca ", "merca\t", "merca\x00",
              "merca\u200b", "ｍｅｒｃａ", "merc\u0430", "merca\u2028"]


@pytest.mark.parametrize("name", LOOKALIKES, ids=repr)
def test_a_lookalike_username_is_refused(http, make_account, name):
    make_account("merchant", username="merca")
    r = http.post(http.base + "/auth/register", json={
        "username": name, "password": "a long password", "display_name": "Merca",
        "kind": "merchant"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error" and "username" in error["fields"]


def test_another_letter_case_is_the_same_username(http, make_account):
    make_account("merchant", username="merca")
    r = http.post(http.base + "/auth/register", json={
        "username": "MERCA", "password": "a long password", "display_name": "Merca",
        "kind": "merchant"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"


def test_a_page_address_with_a_trailing_newline_is_not_the_account(server, make_account):
    make_account("merchant", username="merca")
    assert requests.get(f"{server.url}/m/merca").status_code == 200
    for path in ("/m/merca%0A", "/m/merca%0D", "/m/merca%0A/p/" + "0" * 24):
        r = requests.get(server.url + path)
        assert r.status_code == 404, path
        assert "@merca" not in r.text


def test_a_page_layout_segment_with_a_trailing_newline_is_refused(http, make_account):
    brand = make_account("merchant")
    r = http.patch(http.base + "/accounts/me", headers=brand.headers,
                   json={"page_layout": {"female\n": ["posts"]}})
    assert r.status_code == 400 and "page_layout" in r.json()["error"]["fields"]


def test_a_tus_upload_id_with_a_trailing_newline_is_unknown(http, make_account):
    fan = make_account("fan")
    r = http.post(http.base + "/uploads", headers={**fan.headers, "Tus-Resumable": "1.0.0",
                                                   "Upload-Length": "10"})
    assert r.status_code == 201, r.text
    location = urljoin(http.base, r.headers["Location"])
    head = {**fan.headers, "Tus-Resumable": "1.0.0"}
    assert http.head(location, headers=head).status_code == 200
    bad = http.head(location + "%0A", headers=head)
    assert bad.status_code == 404
