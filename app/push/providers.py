"""The three push protocols, each through its well-kept client library.

- APNs: HTTP/2 (httpx with h2) and token auth: an ES256 JWT (PyJWT) signed with the team's
  key, renewed every 50 minutes (Apple refuses tokens older than an hour).
- FCM HTTP v1: a service account's OAuth token (google-auth: a signed JWT exchanged at the
  account's ``token_uri``), then ``messages:send``.
- Web Push: pywebpush (aes128gcm payload encryption, VAPID ``Authorization``).

A provider's "this device is gone" answer raises ``Unregistered`` (the device is removed);
throttling, 5xx and network errors raise ``Transient`` (the job retries with backoff);
anything else raises ``PushError`` (logged, not retried).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import requests
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
APNS_TOKEN_SECONDS = 50 * 60


class PushError(Exception):
    """The provider refused the message (not retried)."""


class Unregistered(PushError):
    """The device is gone: remove it."""


class Transient(PushError):
    """Worth retrying later."""


def _text(value: str) -> str:
    """A setting that is either the value itself or a path to a file holding it."""
    if not value or value.lstrip().startswith(("{", "-----")):
        return value
    try:
        return Path(value).read_text() if Path(value).is_file() else value
    except OSError:  # not a usable path: the value itself
        return value


class Apns:
    def __init__(self, config: dict) -> None:
        self.key = _text(config["APNS_KEY"])
        self.key_id, self.team_id = config["APNS_KEY_ID"], config["APNS_TEAM_ID"]
        self.topic = config["APNS_TOPIC"]
        self.url = config["APNS_URL"].rstrip("/")
        timeout = float(config["PUSH_TIMEOUT_SECONDS"])
        self.client = httpx.Client(http2=True, verify=config.get("APNS_CA_FILE") or True,
                                   timeout=timeout)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def bearer(self, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.time() - self._token[1] > APNS_TOKEN_SECONDS:
                now = time.time()
                token = jwt.encode({"iss": self.team_id, "iat": int(now)}, self.key,
                                   algorithm="ES256", headers={"kid": self.key_id})
                self._token = (token, now)
            return self._token[0]

    def send(self, device: Any, note: dict) -> None:
        payload = {"aps": {"alert": {"title": note["title"], "body": note["body"]},
                           "badge": note.get("badge", 0), "sound": "default",
                           "thread-id": note["thread"]},
                   **note["data"]}
        headers = {"authorization": f"bearer {self.bearer()}", "apns-topic": self.topic,
                   "apns-push-type": "alert", "apns-priority": "10",
                   "apns-collapse-id": note["collapse_id"][:64]}
        try:
            r = self.client.post(f"{self.url}/3/device/{device.token}", json=payload,
                                 headers=headers)
        except httpx.HTTPError as exc:
            raise Transient(f"apns: {exc}") from exc
        if r.status_code == 200:
            return
        reason = (r.json() if r.content else {}).get("reason", "")
        if r.status_code == 410 or reason in ("BadDeviceToken", "Unregistered",
                                              "DeviceTokenNotForTopic"):
            raise Unregistered(f"apns: {reason or r.status_code}")
        if reason == "ExpiredProviderToken":
            self.bearer(renew=True)
            raise Transient("apns: provider token expired")
        if r.status_code in (429, 500, 503):
            raise Transient(f"apns: {r.status_code} {reason}")
        raise PushError(f"apns: {r.status_code} {reason}")


class Fcm:
    def __init__(self, config: dict) -> None:
        info = json.loads(_text(config["FCM_SERVICE_ACCOUNT"]))
        self.project = info["project_id"]
        self.credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[FCM_SCOPE])
        self.url = config["FCM_URL"].rstrip("/")
        self.timeout = float(config["PUSH_TIMEOUT_SECONDS"])
        self.session = requests.Session()
        self._lock = threading.Lock()

    def bearer(self) -> str:
        with self._lock:
            if not self.credentials.valid:
                self.credentials.refresh(GoogleRequest(self.session))
            return self.credentials.token

    def send(self, device: Any, note: dict) -> None:
        message = {"message": {
            "token": device.token,
            "notification": {"title": note["title"], "body": note["body"]},
            "data": {k: str(v) for k, v in note["data"].items()},
            "android": {"collapse_key": note["collapse_id"], "priority": "high"},
            "apns": {"headers": {"apns-collapse-id": note["collapse_id"][:64]}},
        }}
        try:
            r = self.session.post(f"{self.url}/v1/projects/{self.project}/messages:send",
                                  json=message, timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {self.bearer()}"})
        except (requests.RequestException, OSError) as exc:
            raise Transient(f"fcm: {exc}") from exc
        if r.status_code == 200:
            return
        error = (r.json() if r.content else {}).get("error", {})
        codes = {d.get("errorCode") for d in error.get("details", []) if isinstance(d, dict)}
        if r.status_code == 404 or "UNREGISTERED" in codes:
            raise Unregistered(f"fcm: {error.get('status', r.status_code)}")
        if r.status_code in (429, 500, 503) or "UNAVAILABLE" in codes:
            raise Transient(f"fcm: {r.status_code}")
        raise PushError(f"fcm: {r.status_code} {error.get('status', '')}")


class WebPush:
    def __init__(self, config: dict) -> None:
        self.vapid = Vapid02.from_pem(_text(config["VAPID_PRIVATE_KEY"]).encode())
        self.subject = config["VAPID_SUBJECT"]
        self.timeout = float(config["PUSH_TIMEOUT_SECONDS"])

    def send(self, device: Any, note: dict) -> None:
        body = json.dumps({"title": note["title"], "body": note["body"], **note["data"]},
                          ensure_ascii=False)
        try:
            webpush(subscription_info=device.subscription, data=body,
                    vapid_private_key=self.vapid, vapid_claims={"sub": self.subject},
                    ttl=24 * 3600, timeout=self.timeout,
                    headers={"Topic": note["topic"], "Urgency": "normal"})
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                raise Unregistered(f"webpush: {status}") from None
            if status is None or status in (429, 500, 502, 503):
                raise Transient(f"webpush: {status or exc}") from None
            raise PushError(f"webpush: {status}") from None
        except (requests.RequestException, OSError) as exc:
            raise Transient(f"webpush: {exc}") from exc
