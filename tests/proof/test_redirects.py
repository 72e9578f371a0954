"""Open redirects after sign-in (issue 15, finding 8): ``next`` must stay on this site.

Each target is sent raw in the query string of ``POST /login`` over real HTTP, as an
attacker's link would carry it; a refused target sends the user home instead.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import requests

# Targets a browser would resolve to another host (or run as script), as the decoded value.
HOSTILE = [
    "/\t/evil.example/x",          # the finding: browsers drop the tab -> //evil.example/x
    "/\n/evil.example/x",
    "/\r/evil.example/x",
    "/\r\n/evil.example/x",
    "\t//evil.example/x",
    " //evil.example/x",
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example/x",            # browsers read \ as /
    "\\\\evil.example/x",
    "/\\/evil.example/x",
    "/\x00/evil.example/x",
    "/\x0b/evil.example/x",
    "/\u200b/evil.example/x",
    "/\u2028/evil.example/x",
    "https://evil.example/x",
    "http:/evil.example/x",         # special scheme: browsers read this as http://evil.example
    "HTTPS:evil.example",
    "javascript:alert(1)",
    "evil.example/x",
    "%2F%2Fevil.example/x",         # not a path at all once decoded by the server
]
# Encoded forms a browser keeps as a path on this site.
KEPT = ["/m/shop", "/m/shop?tab=videos#top", "/%09/evil.example/x", "/%2F%2Fevil.example/x",
        "/%5Cevil.example/x"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sign_in(base: str, raw_next: str) -> requests.Response:
    browser = requests.Session()
    token = _csrf(browser.get(f"{base}/login?next={raw_next}").text)
    return browser.post(f"{base}/login?next={raw_next}", allow_redirects=False,
                        data={"username": "shop", "password": "password123", "csrf_token": token})


@pytest.fixture
def shop(make_account):
    return make_account("merchant", username="shop")


def test_the_finding_as_reported(server, shop):
    r = _sign_in(server.url, "/%09/evil.example/x")
    assert r.status_code == 303
    assert r.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("target", HOSTILE, ids=repr)
def test_a_target_off_this_site_sends_the_user_home(server, shop, target):
    r = _sign_in(server.url, quote(target, safe=""))
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("target", KEPT)
def test_a_path_on_this_site_is_kept(server, shop, target):
    r = _sign_in(server.url, quote(target, safe=""))
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == target


def test_a_refused_target_is_not_put_back_in_the_form(server):
    page = requests.get(f"{server.url}/login?next=/%09/evil.example/x")
    assert page.status_code == 200
    assert 'name="next"' not in page.text
