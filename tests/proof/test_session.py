"""The session cookie is signed, not encrypted: whoever reads it (a log, a proxy, a shared
machine) must find nothing that works as a bearer token on /api (issue 15)."""

from __future__ import annotations

import re

import requests

from tests.support import read_session_cookie, sign_in_page


def test_the_token_in_a_read_cookie_does_not_work_on_the_api(server, make_account):
    brand = make_account("merchant")
    browser = sign_in_page(server.url, brand.username)
    assert browser.get(server.url + "/dashboard").status_code == 200  # the cookie signs pages in
    stolen = read_session_cookie(browser.cookies["session"])["token"]
    for path in ("/api/v1/accounts/me", "/api/v1/feed/home", "/api/v1/notifications"):
        r = requests.get(server.url + path, headers={"Authorization": f"Bearer {stolen}"})
        assert r.status_code == 401, (path, r.status_code)
        assert r.json()["error"]["code"] == "invalid_token"
    r = requests.post(server.url + "/api/v1/posts", json={"kind": "post", "text": "pwned"},
                      headers={"Authorization": f"Bearer {stolen}"})
    assert r.status_code == 401
    # nor does it stand in for a bearer token on pages
    r = requests.get(server.url + "/dashboard", headers={"Authorization": f"Bearer {stolen}"},
                     allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")


def test_the_cookie_is_ignored_on_the_api(server, make_account):
    brand = make_account("merchant")
    browser = sign_in_page(server.url, brand.username)
    r = browser.get(server.url + "/api/v1/accounts/me")
    assert r.status_code == 401


def test_signing_out_ends_the_page_session(server, make_account):
    brand = make_account("merchant")
    browser = sign_in_page(server.url, brand.username)
    cookie = browser.cookies["session"]
    page = browser.get(server.url + "/logout").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post(server.url + "/logout", data={"csrf_token": csrf},
                        allow_redirects=False).status_code == 303
    replay = requests.get(server.url + "/dashboard", cookies={"session": cookie},
                          allow_redirects=False)
    assert replay.status_code == 303  # back to /login: the page token was revoked
