"""Malformed, oversized, unknown and flooding input: an error ack or a disconnect, never a crash."""

from __future__ import annotations

import json

import pytest
import websocket

from app.sockets import connections, rooms
from tests.support import wait_for

INVALID = {"ok": False, "error": "invalid_payload"}


def _still_serving(live, make_account, rest) -> None:
    author = make_account("merchant")
    client = live()
    assert client.subscribe(account_id=author.id) == {"ok": True}
    post = rest.post(author, text="still alive")
    client.wait("account.post", lambda e: e["post"]["id"] == post["id"])


@pytest.mark.parametrize("payload", [
    None, "a string", ["a", "list"], 42, {}, {"post_id": 123}, {"post_id": "x" * 1000},
    {"post_id": {"$ne": ""}}, {"account_id": "not an id"}, {"something": "else"},
    {"post_id": "5f0000000000000000000000", "account_id": "5f0000000000000000000000"},
])
def test_malformed_subscriptions_get_an_error_ack(live, payload):
    client = live()
    assert client.call("subscribe", payload) == INVALID
    assert client.call("unsubscribe", payload) == INVALID
    assert client.connected


def test_extra_arguments_and_unknown_events_get_an_error_ack(live, make_account):
    account = make_account()
    client = live(account.token)
    assert client.call("subscribe", {"post_id": "5f" + "0" * 22}, "extra") == INVALID
    assert client.call("no.such.event", {"x": 1}) == {"ok": False, "error": "unknown_event"}
    # events named like the reserved ones change nothing: still signed in and tracked
    for reserved in ("connect", "disconnect"):
        assert client.call(reserved, {"token": "x"}) == {"ok": False, "error": "unknown_event"}
    assert client.connected
    assert connections.registry.get(client.sio.get_sid())
    assert connections.registry.get(client.sio.get_sid()).account_id == account.id


def test_subscriptions_are_capped_per_connection(live, make_account, monkeypatch):
    monkeypatch.setattr(rooms, "MAX_SUBSCRIPTIONS", 3)
    authors = [make_account("merchant") for _ in range(4)]
    client = live()
    for author in authors[:3]:
        assert client.subscribe(account_id=author.id) == {"ok": True}
    assert client.subscribe(account_id=authors[3].id) == {"ok": False,
                                                         "error": "too_many_subscriptions"}
    assert client.subscribe(account_id=authors[0].id) == {"ok": True}  # already counted
    assert client.call("unsubscribe", {"account_id": authors[0].id}) == {"ok": True}
    assert client.subscribe(account_id=authors[3].id) == {"ok": True}


def test_a_flood_is_refused_then_disconnected(live, make_account, rest):
    flooder = live()
    author = make_account("merchant")
    acks: list = []
    for _ in range(400):
        if not flooder.connected:
            break
        flooder.sio.emit("subscribe", {"account_id": author.id}, callback=acks.append)
    wait_for(lambda: not flooder.connected)
    assert {"ok": False, "error": "rate_limited"} in acks
    _still_serving(live, make_account, rest)


def test_an_oversized_payload_closes_the_connection(live, make_account, rest):
    client = live()
    client.sio.emit("subscribe", {"post_id": "x" * 200_000})
    wait_for(lambda: not client.connected)
    _still_serving(live, make_account, rest)


def test_garbage_packets_on_a_raw_websocket_do_not_hurt_the_server(server, live, make_account,
                                                                   rest):
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=10)
    try:
        assert ws.recv().startswith("0{")  # Engine.IO open
        ws.send("40")
        assert ws.recv().startswith("40")  # Socket.IO connect (anonymous)
        # the server answers garbage by closing the connection, which may happen while we
        # are still sending: either an error ack for the last event, or the server closed us
        try:
            for junk in ["42[", "42{}", '42["subscribe"', "4299999999999999999999[]", "4x",
                         "9", "", "43[]", "44{}", "42" + json.dumps(["subscribe", [[[[[]]]]]])]:
                ws.send(junk)
            ws.send_binary(b"\x00\xff\xfe garbage")
            ws.send('421["subscribe",{"post_id":"nope"}]')
            for _ in range(10):
                reply = ws.recv()
                if reply.startswith("431"):
                    assert json.loads(reply[3:]) == [INVALID]
                    break
        except (websocket.WebSocketException, OSError):
            pass
    finally:
        ws.close()
    _still_serving(live, make_account, rest)
