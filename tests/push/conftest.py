"""Local servers that speak each push provider's protocol, on loopback.

- APNs: HTTP/2 over TLS (hypercorn, a self-signed certificate the app is told to trust);
- FCM: the OAuth token endpoint and HTTP v1 ``messages:send``;
- Web Push: a push service endpoint.

Each records what it received; tokens or endpoints named ``gone`` are answered the way the
provider says "unregistered", ``flaky`` fails once with a 503.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from app.redis_server import free_port


def _pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class Recorder:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.failed_once: set[str] = set()

    def add(self, item: dict) -> None:
        with self.lock:
            self.received.append(item)

    def flaky(self, key: str) -> bool:
        """True the first time ``key`` is seen (answer a 503 then)."""
        with self.lock:
            if "flaky" in key and key not in self.failed_once:
                self.failed_once.add(key)
                return True
            return False


# --- APNs: HTTP/2 over TLS ------------------------------------------------------------------


class ApnsServer(Recorder):
    def __init__(self, folder) -> None:
        super().__init__()
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([
                    x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                    critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        self.cert = folder / "apns.pem"
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / "apns.key").write_text(_pem(key))
        self.signing_key = ec.generate_private_key(ec.SECP256R1())  # the team's .p8 key
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        config = HypercornConfig()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.certfile, config.keyfile = str(self.cert), str(folder / "apns.key")
        config.alpn_protocols = ["h2"]
        config.loglevel = "WARNING"
        self.loop = asyncio.new_event_loop()
        self.stopping = asyncio.Event()
        self.thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self.thread.start()

    def _run(self, config) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(serve(self.app, config, shutdown_trigger=self.stopping.wait))

    async def app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        token = scope["path"].rsplit("/", 1)[-1]
        self.add({"http_version": scope["http_version"], "method": scope["method"],
                  "path": scope["path"], "body": json.loads(body or b"{}"),
                  "headers": {k.decode(): v.decode() for k, v in scope["headers"]}})
        status, answer = 200, b""
        if "gone" in token:
            status, answer = 410, b'{"reason":"Unregistered","timestamp":1}'
        elif self.flaky(token):
            status, answer = 503, b'{"reason":"ServiceUnavailable"}'
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"apns-id", b"00000000-0000-0000-0000-000000000001")]})
        await send({"type": "http.response.body", "body": answer})

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(timeout=5)


# --- FCM and Web Push: HTTP/1.1 -------------------------------------------------------------


class HttpProvider(Recorder):
    """A loopback HTTP server; ``answer(path, headers, body)`` -> (status, json)."""

    def __init__(self) -> None:
        super().__init__()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = provider.answer(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()


class FcmServer(HttpProvider):
    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.account = {
            "type": "service_account", "project_id": "fanhub-demo", "private_key_id": "k1",
            "private_key": _pem(self.key), "client_email": "push@fanhub-demo.iam.example",
            "client_id": "1", "token_uri": f"{self.url}/token"}
        self.issued = "ya29.local-" + base64.urlsafe_b64encode(os.urandom(9)).decode()

    def answer(self, path, headers, body):
        if path == "/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.add({"kind": "token", "form": form})
            return 200, {"access_token": self.issued, "expires_in": 3600, "token_type": "Bearer"}
        message = json.loads(body)
        self.add({"kind": "send", "path": path, "headers": headers, "body": message})
        token = message["message"]["token"]
        if headers.get("authorization") != f"Bearer {self.issued}":
            return 401, {"error": {"status": "UNAUTHENTICATED"}}
        if "gone" in token:
            return 404, {"error": {"code": 404, "status": "NOT_FOUND", "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                 "errorCode": "UNREGISTERED"}]}}
        if self.flaky(token):
            return 503, {"error": {"status": "UNAVAILABLE"}}
        return 200, {"name": f"projects/fanhub-demo/messages/{len(self.received)}"}


class WebPushServer(HttpProvider):
    def answer(self, path, headers, body):
        self.add({"path": path, "headers": headers, "body": body})
        if "gone" in path:
            return 410, None
        if self.flaky(path):
            return 503, None
        return 201, None


@pytest.fixture(scope="session")
def apns_server(tmp_path_factory):
    server = ApnsServer(tmp_path_factory.mktemp("apns"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fcm_server():
    server = FcmServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webpush_server():
    server = WebPushServer()
    yield server
    server.stop()


@pytest.fixture
def providers(app, apns_server, fcm_server, webpush_server):
    """The app pointed at the three local servers (credentials made here)."""
    vapid = ec.generate_private_key(ec.SECP256R1())
    settings = {
        "APNS_KEY": _pem(apns_server.signing_key), "APNS_KEY_ID": "KEY1234567",
        "APNS_TEAM_ID": "TEAM123456", "APNS_TOPIC": "com.fanhub.app",
        "APNS_URL": apns_server.url, "APNS_CA_FILE": str(apns_server.cert),
        "FCM_SERVICE_ACCOUNT": json.dumps(fcm_server.account), "FCM_URL": fcm_server.url,
        "VAPID_PRIVATE_KEY": _pem(vapid), "VAPID_SUBJECT": "mailto:ops@fanhub.example",
        "PUSH_ALLOW_HTTP_ENDPOINTS": True,
    }
    saved = {k: app.config.get(k) for k in settings}
    app.config.update(settings)
    app.extensions.pop("push_senders", None)
    for server in (apns_server, fcm_server, webpush_server):
        with server.lock:
            server.received.clear()
    yield {"vapid_public": vapid.public_key(), "apns_public": apns_server.signing_key.public_key(),
           "fcm_public": fcm_server.key.public_key()}
    app.config.update(saved)
    app.extensions.pop("push_senders", None)


@pytest.fixture
def feed(http):
    from tests.feed.conftest import Feed

    return Feed(http)
