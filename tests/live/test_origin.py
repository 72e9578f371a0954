"""Socket.IO and the session cookie across origins (issue 15): a page of another site (a
sibling subdomain too, which SameSite=Lax lets send the cookie) must not get a connection
signed in by the cookie; a bearer token in ``auth`` works from anywhere.

Real python-socketio clients over real sockets, sending the ``Origin`` a browser would (the
websocket library's own ``Origin`` is suppressed so the handshake carries exactly one)."""

from __future__ import annotations

import pytest

from app.sockets import connections
from tests.live.conftest import LiveClient, refusal
from tests.support import read_session_cookie, sign_in_page

TRANSPORTS = [("websocket",), ("polling", "websocket"), ("polling",)]


@pytest.fixture
def connect(server):
    made: list[LiveClient] = []

    def open_(origin: str, transports=("websocket",), cookie: str | None = None,
              token: str | None = None) -> LiveClient:
        client = LiveClient(server.url)
        client.sio.eio.websocket_extra_options["suppress_origin"] = True
        made.append(client)
        headers = {"Origin": origin, **({"Cookie": cookie} if cookie else {})}
        return client.connect(token, headers=headers, transports=transports)

    yield open_
    for client in made:
        client.disconnect()


def _viewer(client: LiveClient) -> str | None:
    """The account the server holds this connection for (None: anonymous)."""
    return connections.registry.get(client.sio.get_sid("/")).account_id


@pytest.fixture
def author(server, make_account):
    actor = make_account("merchant")
    actor.cookie = f"session={sign_in_page(server.url, actor.username).cookies['session']}"
    return actor


@pytest.mark.parametrize("transports", TRANSPORTS)
def test_the_cookie_from_another_origin_does_not_sign_in(connect, author, transports):
    for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example",
                   "https://sub.127.0.0.1"):
        client = connect(origin, transports, cookie=author.cookie)
        assert client.connected and _viewer(client) is None, origin


@pytest.mark.parametrize("transports", TRANSPORTS)
def test_the_cookie_from_this_site_signs_in(server, connect, rest, make_account, author,
                                            transports):
    client = connect(server.url, transports, cookie=author.cookie)
    assert _viewer(client) == author.id
    rest.follow(make_account("fan"), author)
    assert client.wait("notification")["type"] == "follow"


def test_a_configured_origin_may_use_the_cookie(app, connect, author):
    app.config["SESSION_ALLOWED_ORIGINS"] = ["https://m.fanhub.example"]
    try:
        assert _viewer(connect("https://m.fanhub.example", cookie=author.cookie)) == author.id
        assert _viewer(connect("https://x.fanhub.example", cookie=author.cookie)) is None
    finally:
        app.config["SESSION_ALLOWED_ORIGINS"] = []


def test_a_bearer_token_works_from_any_origin(connect, rest, make_account):
    author = make_account("merchant")
    client = connect("https://evil.example", token=author.token)
    assert _viewer(client) == author.id
    rest.follow(make_account("fan"), author)
    assert client.wait("notification")["type"] == "follow"


def test_the_page_token_read_from_the_cookie_is_refused_as_auth(server, author):
    token = read_session_cookie(author.cookie.removeprefix("session="))["token"]
    assert "invalid" in refusal(server.url, auth={"token": token})
