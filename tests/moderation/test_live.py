"""Authors are told about decisions live, over a real Socket.IO connection."""

from __future__ import annotations

import socketio

from app import signals
from tests.support import wait_for


def test_the_author_gets_the_decision_and_the_signal_fires(
        app, server, client, make_account, moderator):
    author = make_account("merchant")
    client.post(f"/api/v1/accounts/{author.id}/reports", json={"reason": "spam"},
                headers=make_account().headers)
    item_id = client.get("/api/v1/moderation/queue",
                         headers=moderator.headers).get_json()["items"][0]["id"]

    received: list[dict] = []
    decided: list = []
    sio = socketio.Client(reconnection=False)
    sio.on("moderation.decision", received.append)

    def on_decided(item, **_):
        decided.append(item)

    signals.moderation_decided.connect(on_decided)
    try:
        sio.connect(server.url, auth={"token": author.token}, transports=["websocket"],
                    wait_timeout=10)
        response = client.post(f"/api/v1/moderation/queue/{item_id}/decision",
                               json={"action": "approve", "reason": "looks fine"},
                               headers=moderator.headers)
        assert response.status_code == 200
        wait_for(lambda: received)
    finally:
        signals.moderation_decided.disconnect(on_decided)
        sio.disconnect()
    assert received == [{"target_type": "account", "target_id": author.id,
                         "action": "approve", "reason": "looks fine"}]
    assert [str(item.id) for item in decided] == [item_id]
    assert decided[0].status == "approved"


def test_suspension_closes_the_accounts_live_sockets(server, client, make_account, moderator):
    target = make_account("merchant")
    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(server.url, auth={"token": target.token}, transports=["websocket"],
                    wait_timeout=10)
        assert sio.connected
        response = client.post(f"/api/v1/moderation/accounts/{target.id}/suspend",
                               json={"reason": "spam ring"}, headers=moderator.headers)
        assert response.status_code == 200
        wait_for(lambda: not sio.connected)
        refused = socketio.Client(reconnection=False)
        try:
            refused.connect(server.url, auth={"token": target.token}, wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            pass
        else:
            refused.disconnect()
            raise AssertionError("a suspended account's token still opens a socket")
    finally:
        if sio.connected:
            sio.disconnect()
