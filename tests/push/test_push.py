"""Push over real HTTP to local servers speaking APNs (HTTP/2), FCM HTTP v1 and Web Push:
what each receives (headers, the JWT, the payload, the collapse id), who is never pushed,
retries, and devices removed when the provider says they are gone."""

from __future__ import annotations

import base64
import json
import os

import http_ece
import jwt
import pytest
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support import wait_for


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Browser:
    """A browser's Web Push subscription: its key pair and auth secret decrypt what it gets."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        self.subscription = {"endpoint": endpoint,
                             "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)}}

    def read(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


def _device(http, actor, **body) -> dict:
    r = http.post(http.base + "/push/devices", json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _like(http, actor, post_id: str) -> None:
    assert http.post(f"{http.base}/posts/{post_id}/like", headers=actor.headers).status_code == 200


def test_device_and_preference_routes(http, make_account, providers):
    fan, other = make_account(), make_account()
    first = _device(http, fan, platform="apns", token="a" * 64)
    assert set(first) == {"id", "platform", "created_at"} and first["platform"] == "apns"
    assert _device(http, fan, platform="apns", token="a" * 64)["id"] == first["id"]
    bad = http.post(http.base + "/push/devices", json={"platform": "webpush"},
                    headers=fan.headers)
    assert bad.status_code == 400 and "subscription" in bad.json()["error"]["fields"]
    assert http.post(http.base + "/push/devices", json={"platform": "fax", "token": "x"},
                     headers=fan.headers).status_code == 400
    assert http.delete(f"{http.base}/push/devices/{first['id']}",
                       headers=other.headers).status_code == 404
    assert http.delete(f"{http.base}/push/devices/{first['id']}",
                       headers=fan.headers).status_code == 204
    prefs = http.get(http.base + "/push/preferences", headers=fan.headers).json()
    assert prefs == {k: True for k in ("follow", "like", "comment", "mention", "reply",
                                       "moderation", "media", "posts")}
    r = http.put(http.base + "/push/preferences", json={"like": False}, headers=fan.headers)
    assert r.status_code == 200 and r.json()["like"] is False and r.json()["comment"] is True
    assert http.get(http.base + "/push/preferences", headers=fan.headers).json()["like"] is False


def test_apns_over_http2_with_token_auth(http, feed, make_account, providers, apns_server):
    fan, merchant = make_account(), make_account("merchant", display_name="茶庄")
    token = "b" * 64
    _device(http, fan, platform="apns", token=token)
    post = feed.post(fan, text="my tea")
    _like(http, merchant, post["id"])
    got = wait_for(lambda: apns_server.received)[0]
    assert got["http_version"] == "2" and got["method"] == "POST"
    assert got["path"] == f"/3/device/{token}"
    headers = got["headers"]
    assert headers["apns-topic"] == "com.fanhub.app"
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-collapse-id"] == f"like:{post['id']}"
    scheme, _, bearer = headers["authorization"].partition(" ")
    assert scheme == "bearer"
    assert jwt.get_unverified_header(bearer) == {"alg": "ES256", "kid": "KEY1234567",
                                                 "typ": "JWT"}
    claims = jwt.decode(bearer, providers["apns_public"], algorithms=["ES256"])
    assert claims["iss"] == "TEAM123456" and isinstance(claims["iat"], int)
    body = got["body"]
    assert body["aps"]["alert"]["title"] == "茶庄 liked your post"
    assert body["aps"]["badge"] == 1
    assert body["type"] == "like" and body["post_id"] == post["id"]


def test_fcm_v1_with_a_service_account_token(http, feed, make_account, providers, fcm_server):
    fan, other = make_account(), make_account(display_name="小美")
    _device(http, fan, platform="fcm", token="fcm-token-1")
    post = feed.post(fan, text="hello")
    r = http.post(f"{http.base}/posts/{post['id']}/comments", json={"text": "好喝"},
                  headers=other.headers)
    assert r.status_code == 201
    sent = wait_for(lambda: [x for x in fcm_server.received if x["kind"] == "send"])[0]
    grant = next(x for x in fcm_server.received if x["kind"] == "token")["form"]
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assertion = jwt.decode(grant["assertion"], providers["fcm_public"], algorithms=["RS256"],
                           audience="https://oauth2.googleapis.com/token")
    assert assertion["iss"] == fcm_server.account["client_email"]
    assert assertion["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert sent["path"] == "/v1/projects/fanhub-demo/messages:send"
    message = sent["body"]["message"]
    assert message["token"] == "fcm-token-1"
    assert message["notification"]["title"] == "小美 commented on your post"
    assert message["data"] == {"type": "comment", "post_id": post["id"], "actor_id": other.id}
    assert message["android"]["collapse_key"] == f"comment:{post['id']}"


def test_web_push_with_vapid(http, feed, make_account, providers, webpush_server):
    fan, merchant = make_account(), make_account("merchant")
    browser = Browser(f"{webpush_server.url}/push/sub-1")
    _device(http, fan, platform="webpush", subscription=browser.subscription)
    feed.follow(merchant, fan)  # fan is told: follow
    got = wait_for(lambda: webpush_server.received)[0]
    headers = got["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    assert len(headers["topic"]) == 32  # the collapse id, as a Web Push topic
    vapid = dict(part.strip().split("=", 1) for part in
                 headers["authorization"].removeprefix("vapid ").split(","))
    claims = jwt.decode(vapid["t"], providers["vapid_public"], algorithms=["ES256"],
                        audience=webpush_server.url)
    assert claims["sub"] == "mailto:ops@fanhub.example"
    payload = browser.read(got["body"])
    assert payload["type"] == "follow" and payload["actor_id"] == merchant.id


def test_a_gone_device_is_removed(app, http, feed, make_account, providers, webpush_server,
                                  apns_server):
    fan, merchant = make_account(), make_account("merchant")
    gone = _device(http, fan, platform="webpush",
                   subscription=Browser(f"{webpush_server.url}/push/gone").subscription)
    apns_gone = _device(http, fan, platform="apns", token="gone" + "c" * 60)
    feed.follow(merchant, fan)
    from app.push.models import PushDevice

    def removed():
        with app.app_context():
            return not PushDevice.objects(id__in=[gone["id"], apns_gone["id"]]).count()

    wait_for(removed)
    assert http.delete(f"{http.base}/push/devices/{gone['id']}",
                       headers=fan.headers).status_code == 404


def test_a_transient_failure_is_retried(http, feed, make_account, providers, fcm_server):
    fan, merchant = make_account(), make_account("merchant")
    _device(http, fan, platform="fcm", token="flaky-token")
    feed.follow(merchant, fan)
    sends = wait_for(lambda: len([x for x in fcm_server.received if x["kind"] == "send"]) >= 2
                     and [x for x in fcm_server.received if x["kind"] == "send"], timeout=30)
    assert [s["body"]["message"]["token"] for s in sends[:2]] == ["flaky-token"] * 2


def test_new_posts_reach_only_who_asked_and_may_see(http, feed, make_account, providers,
                                                     webpush_server, server):
    merchant = make_account("merchant", display_name="茶庄")
    fans = {name: make_account(profile={"gender": "female"}) for name in
            ("told", "muted", "plain_follow", "prefs_off", "online", "blocked")}
    fans["outside_audience"] = make_account(profile={"gender": "male"})
    browsers = {}
    for name, fan in fans.items():
        r = http.post(f"{http.base}/accounts/{merchant.id}/follow", headers=fan.headers,
                      json={} if name == "plain_follow" else {"notify": True})
        assert r.status_code == 200, r.text
        assert r.json()["notify"] is (name != "plain_follow")
        browsers[name] = Browser(f"{webpush_server.url}/push/{name}")
        _device(http, fan, platform="webpush", subscription=browsers[name].subscription)
    assert http.post(f"{http.base}/accounts/{merchant.id}/mute",
                     headers=fans["muted"].headers).status_code == 200
    assert http.post(f"{http.base}/accounts/{fans['blocked'].id}/block",
                     headers=merchant.headers).status_code == 200
    assert http.put(http.base + "/push/preferences", json={"posts": False},
                    headers=fans["prefs_off"].headers).status_code == 200
    online = socketio.Client(reconnection=False)
    online.connect(server.url, auth={"token": fans["online"].token}, transports=["polling"],
                   wait_timeout=10)
    try:
        post = feed.post(merchant, text="新茶上市 只给女士", audience={"gender": "female"})
        got = wait_for(lambda: [x for x in webpush_server.received
                                if x["path"].endswith("/told")])[0]
        payload = browsers["told"].read(got["body"])
        assert payload == {"title": "茶庄 posted", "body": "新茶上市 只给女士", "type": "posts",
                           "post_id": post["id"], "actor_id": merchant.id}
        # one more push, sent after the post's: once it arrives, the post's batch is done
        feed.follow(make_account(), fans["told"])
        wait_for(lambda: len([x for x in webpush_server.received
                              if x["path"].endswith("/told")]) == 2)
    finally:
        online.disconnect()
    paths = {x["path"].rsplit("/", 1)[-1] for x in webpush_server.received}
    assert paths == {"told"}


@pytest.mark.parametrize("notify", [True, False])
def test_follow_notify_can_be_changed(http, make_account, notify):
    fan, merchant = make_account(), make_account("merchant")
    path = f"{http.base}/accounts/{merchant.id}/follow"
    assert http.post(path, headers=fan.headers).json()["notify"] is False
    r = http.post(path, json={"notify": notify}, headers=fan.headers)
    assert r.json() == {"following": True, "followers_count": 1, "notify": notify}
    assert http.delete(path, headers=fan.headers).json()["notify"] is False


def test_moderation_decisions_are_pushed_to_the_author(http, feed, make_account, providers,
                                                       apns_server):
    author = make_account("merchant")
    moderator = make_account("fan", roles=("moderator",))
    _device(http, author, platform="apns", token="d" * 64)
    post = feed.post(author, text="questionable")
    for reporter in [make_account() for _ in range(2)]:
        assert http.post(f"{http.base}/posts/{post['id']}/reports", json={"reason": "spam"},
                         headers=reporter.headers).status_code == 201
    queue = http.get(http.base + "/moderation/queue", headers=moderator.headers).json()["items"]
    item = next(i for i in queue if i["target_id"] == post["id"])
    assert http.post(f"{http.base}/moderation/queue/{item['id']}/decision",
                     json={"action": "remove", "reason": "spam"},
                     headers=moderator.headers).status_code == 200
    got = wait_for(lambda: [x for x in apns_server.received
                            if x["body"].get("type") == "moderation"])[0]
    assert got["headers"]["apns-collapse-id"] == f"moderation:post:{post['id']}"
    assert got["body"]["action"] == "remove" and got["body"]["post_id"] == post["id"]


def test_a_ready_video_is_pushed_to_its_owner(http, make_account, providers, fcm_server,
                                              tmp_path):
    from tests.app.test_generated_client import _video

    fan = make_account()
    _device(http, fan, platform="fcm", token="fcm-video")
    r = http.post(http.base + "/media", headers=fan.headers,
                  files={"file": ("v.mp4", _video(tmp_path), "video/mp4")})
    assert r.status_code == 202, r.text
    sent = wait_for(lambda: [x for x in fcm_server.received if x["kind"] == "send"],
                    timeout=90)[0]["body"]["message"]
    assert message_is_media(sent, r.json()["id"])


def message_is_media(message: dict, media_id: str) -> bool:
    return (message["data"] == {"type": "media", "media_id": media_id}
            and message["android"]["collapse_key"] == f"media:{media_id}"
            and message["notification"]["title"] == "Your video is ready")
