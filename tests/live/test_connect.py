"""Who may connect, and how revoked or suspended credentials lose their sockets."""

from __future__ import annotations

import pytest

from tests.live.conftest import refusal
from tests.support import sign_in_page, wait_for


@pytest.fixture
def refused(server):
    return lambda **kwargs: refusal(server.url, **kwargs)


@pytest.mark.parametrize("auth", [
    {"token": "not-a-token"},
    {"token": 12345},
    {"token": ["a", "list"]},
    {"token": "x" * 5000},
    "a string instead of an object",
])
def test_bad_credentials_are_refused(refused, auth):
    assert "invalid" in refused(auth=auth)


def test_anonymous_connections_are_allowed_and_join_no_account_room(app, live, make_account,
                                                                    rest):
    author = make_account("merchant")
    anonymous = live()
    assert anonymous.connected
    rest.follow(make_account("fan"), author)  # a notification to the author's room
    anonymous.barrier()
    assert anonymous.events("notification") == []


def test_the_session_cookie_authenticates_a_page(app, server, live, refused, make_account, rest):
    fan, author = make_account("fan"), make_account("merchant")
    cookie = sign_in_page(server.url, author.username).cookies["session"]
    page = live(headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"},
                transports=("polling", "websocket"))
    rest.follow(fan, author)
    note = page.wait("notification")
    assert note["type"] == "follow" and note["actor"]["id"] == fan.id
    forged = app.session_interface.get_signing_serializer(app).dumps({"token": "page.forged"})
    assert "invalid" in refused(headers={"Cookie": f"session={forged}"})


def test_logout_closes_the_sockets_of_that_token_only(live, refused, make_account, rest):
    fan = make_account("fan")
    other_token = rest.call("POST", "/auth/token",
                            json={"username": fan.username, "password": "password123"})["token"]
    phone, tablet = live(fan.token), live(other_token)
    rest.call("DELETE", "/auth/token", fan, expect=204)
    wait_for(lambda: not phone.connected)
    assert tablet.connected
    assert "invalid" in refused(token=fan.token)


def test_a_password_change_closes_every_other_session(live, make_account, rest):
    fan = make_account("fan")
    other_token = rest.call("POST", "/auth/token",
                            json={"username": fan.username, "password": "password123"})["token"]
    here, elsewhere = live(fan.token), live(other_token)
    rest.call("POST", "/auth/password", fan, expect=204,
              json={"old_password": "password123", "new_password": "a new password 1"})
    wait_for(lambda: not elsewhere.connected)
    here.barrier()
    assert here.connected


def test_suspension_and_deletion_close_sockets(app, live, refused, make_account, rest):
    from app.accounts import service

    suspended, deleted = make_account("merchant"), make_account("fan")
    a, b = live(suspended.token), live(deleted.token)
    with app.app_context():
        service.set_suspended(service.get(suspended.id), True)
    wait_for(lambda: not a.connected)
    assert "invalid" in refused(token=suspended.token)
    rest.call("DELETE", "/accounts/me", deleted, expect=204, json={"password": "password123"})
    wait_for(lambda: not b.connected)


def test_a_dropped_connection_reconnects_into_its_rooms(live, proxy, make_account, rest):
    from app.sockets import connections

    author, fan = make_account("merchant"), make_account("fan")
    rest.follow(fan, author)
    phone = live(fan.token, url=proxy.url, reconnection=True)
    first_sid = phone.sio.get_sid()
    proxy.drop()  # the network goes away; the client library reconnects by itself
    wait_for(lambda: phone.connected and phone.sio.get_sid() not in (None, first_sid))
    wait_for(lambda: connections.registry.get(first_sid) is None)
    post = rest.post(author, text="after the drop")
    assert phone.wait("feed.new")["post"]["id"] == post["id"]


def test_revalidation_closes_sockets_whose_revocation_notice_was_lost(app, live, make_account):
    """After the control channel resubscribes, every connection is checked again."""
    from app.accounts import tokens
    from app.accounts.models import Token
    from app.sockets import recheck

    fan, other = make_account("fan"), make_account("fan")
    lost, kept = live(fan.token), live(other.token)
    with app.app_context():  # revoked without the live notice, as if Redis were down for it
        Token.objects(token_hash=tokens.hash_of(fan.token)).delete()
        app.extensions["redis"].delete(f"tok:{tokens.hash_of(fan.token)}")
    lost.barrier()
    assert lost.connected
    recheck.revalidate_all(app)
    wait_for(lambda: not lost.connected)
    kept.barrier()
    assert kept.connected


def test_a_socket_closes_when_its_token_expires(app, live, refused, make_account, monkeypatch):
    """No revocation, no request: the token just runs out while the socket is open."""
    from app.accounts import tokens

    fan = make_account("fan")
    monkeypatch.setitem(app.config, "TOKEN_TTL_SECONDS", 2)
    with app.app_context():
        short_lived = tokens.issue(fan.id)
    monkeypatch.undo()
    expiring, lasting = live(short_lived), live(fan.token)
    reasons: list[str] = []
    expiring.sio.on("disconnect", reasons.append)
    wait_for(lambda: not expiring.connected)
    assert reasons == [expiring.sio.reason.SERVER_DISCONNECT]  # closed by the server, as on logout
    assert "invalid" in refused(token=short_lived)
    lasting.barrier()
    assert lasting.connected


def test_token_rechecks_of_closed_connections_do_not_pile_up():
    """Closed connections' re-checks are dropped, not kept until their token's expiry."""
    from app.sockets.connections import Connection, Registry

    registry = Registry()
    for i in range(5000):
        conn = Connection(sid=f"sid{i}", account_id="a", token_hash=f"h{i}")
        registry.add(conn)
        registry.schedule(conn, 30 * 24 * 3600)
        if i % 10:
            registry.remove(conn.sid)
    assert len(registry.by_sid) == 500
    assert len(registry.rechecks) <= 2 * 500 + 1024 + 1
    assert {c.sid for c in registry.due(float("inf"))} == set(registry.by_sid)
