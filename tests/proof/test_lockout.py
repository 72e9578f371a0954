"""Sign-in lock-out and the client address (issue 15, finding 9), over real HTTP from
distinct client addresses (connections bound to 127.0.0.x, which Linux's loopback accepts).

Before: ten wrong passwords for a username from one address made the owner's right password
answer 429 from every address for up to an hour, and behind the README's nginx every client
shared the proxy's address. Now failures count per (username, address); the username's own
limit spares addresses it signed in from; ``TRUSTED_PROXIES`` gives each client its address.
"""

from __future__ import annotations

import pytest
import requests

from app.redis_server import RedisServer
from tests.live.processes import NginxProcess, WebProcess
from tests.support import client_at

PASSWORD = "password123"


@pytest.fixture
def login_limits(app):
    """The real limits, with the username's own limit small enough to reach in a test."""
    saved = {k: app.config.get(k) for k in ("RATELIMIT_SCALE", "RATELIMIT_LOGIN_USER")}
    app.config.update(RATELIMIT_SCALE=1, RATELIMIT_LOGIN_USER="6/hour")
    yield
    app.config.update(saved)


def _token(session: requests.Session, base: str, username: str, password: str,
           **headers: str) -> int:
    return session.post(base + "/api/v1/auth/token", headers=headers,
                        json={"username": username, "password": password}).status_code


def test_a_guesser_does_not_lock_the_owner_out(server, make_account, login_limits):
    owner = make_account("merchant")
    home, guesser = client_at("127.0.0.2"), client_at("127.0.0.3")
    assert _token(home, server.url, owner.username, PASSWORD) == 200  # the owner's usual address

    # The guesser's own (username, address) allowance: 5 failures a minute.
    tries = [_token(guesser, server.url, owner.username, f"guess{i}") for i in range(12)]
    assert tries[:5] == [401] * 5 and set(tries[5:]) == {429}
    assert _token(home, server.url, owner.username, PASSWORD) == 200  # was 429 for an hour

    # A guesser rotating addresses meets the username's own limit (6 failures an hour) ...
    rotated = [_token(client_at(f"127.0.1.{i}"), server.url, owner.username, "guess")
               for i in range(1, 4)]
    assert rotated == [401, 429, 429]
    # ... which slows sign-in from addresses the owner never used, never from the usual one.
    assert _token(client_at("127.0.2.1"), server.url, owner.username, PASSWORD) == 429
    assert _token(home, server.url, owner.username, PASSWORD) == 200
    assert _token(home, server.url, owner.username.upper(), PASSWORD) == 200

    # Other accounts are not affected, from any address.
    other = make_account("fan")
    assert _token(guesser, server.url, other.username, PASSWORD) == 200


def test_a_429_has_the_contract_shape_and_retry_after(server, make_account, login_limits):
    owner = make_account("fan")
    guesser = client_at("127.0.0.4")
    for i in range(5):
        guesser.post(server.url + "/api/v1/auth/token",
                     json={"username": owner.username, "password": f"guess{i}"})
    r = guesser.post(server.url + "/api/v1/auth/token",
                     json={"username": owner.username, "password": PASSWORD})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= 60


def test_the_login_page_counts_in_the_same_buckets(server, make_account, login_limits):
    import re

    owner = make_account("merchant")
    browser = client_at("127.0.0.5")
    for i in range(5):
        page = browser.get(server.url + "/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = browser.post(server.url + "/login", allow_redirects=False, data={
            "username": owner.username, "password": f"guess{i}", "csrf_token": token})
        assert r.status_code == 401
    assert _token(browser, server.url, owner.username, PASSWORD) == 429
    assert browser.get(server.url + "/login").status_code == 200  # only POSTs count


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(server, make_account,
                                                                   login_limits):
    owner = make_account("fan")
    guesser = client_at("127.0.0.6")
    tries = [_token(guesser, server.url, owner.username, f"guess{i}",
                    **{"X-Forwarded-For": f"10.9.8.{i}"}) for i in range(7)]
    assert tries[:5] == [401] * 5 and set(tries[5:]) == {429}


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory):
    """gunicorn (``TRUSTED_PROXIES=1``, real limits) behind nginx set up as the README's."""
    root = tmp_path_factory.mktemp("behind_nginx")
    redis = RedisServer().start()
    web = WebProcess(redis.url, root / "web", TRUSTED_PROXIES="1", ARGON2_TIME_COST="1",
                     ARGON2_MEMORY_KIB="1024", RATELIMIT_LOGIN_USER="6/hour", DEMO_DATA="0")
    nginx = None
    try:
        web.wait_ready()
        nginx = NginxProcess(f"127.0.0.1:{web.port}", root / "nginx").wait_ready()
        yield web, nginx
    finally:
        if nginx:
            nginx.stop()
        web.stop()
        redis.stop()


def _register(session: requests.Session, base: str, username: str) -> None:
    r = session.post(base + "/api/v1/auth/register", json={
        "username": username, "password": PASSWORD, "display_name": username, "kind": "fan"})
    assert r.status_code == 201, r.text


def test_behind_nginx_each_client_has_its_own_address(behind_nginx):
    _, nginx = behind_nginx
    home, guesser = client_at("127.0.3.2"), client_at("127.0.3.3")
    _register(home, nginx.url, "nginx_owner")
    assert _token(home, nginx.url, "nginx_owner", PASSWORD) == 200
    # The guesser forges X-Forwarded-For (even the owner's address): nginx appends the real
    # one and the app trusts only that last hop.
    tries = [_token(guesser, nginx.url, "nginx_owner", f"guess{i}",
                    **{"X-Forwarded-For": "127.0.3.2" if i % 2 else f"10.0.0.{i}"})
             for i in range(8)]
    assert tries[:5] == [401] * 5 and set(tries[5:]) == {429}
    assert _token(home, nginx.url, "nginx_owner", PASSWORD) == 200
    # Registrations: 5 a minute per client, not for the whole site.
    for i in range(6):
        _register(client_at(f"127.0.4.{i + 1}"), nginx.url, f"nginx_fan{i}")


def test_forwarded_for_through_proxyfix_with_one_trusted_proxy(behind_nginx):
    web, _ = behind_nginx
    direct = requests.Session()  # the test plays the proxy: it sets the header itself
    _register(direct, web.url, "fixed_owner")
    home = {"X-Forwarded-For": "203.0.113.7"}
    assert _token(direct, web.url, "fixed_owner", PASSWORD, **home) == 200
    tries = [_token(direct, web.url, "fixed_owner", "guess",
                    **{"X-Forwarded-For": "198.51.100.1, 203.0.113.66"}) for _ in range(6)]
    assert tries == [401] * 5 + [429]
    assert _token(direct, web.url, "fixed_owner", PASSWORD, **home) == 200
    other = {"X-Forwarded-For": "198.51.100.2"}
    assert _token(direct, web.url, "fixed_owner", "guess", **other) == 401  # its own bucket
