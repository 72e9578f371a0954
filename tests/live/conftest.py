"""Live-update fixtures: real python-socketio clients over real sockets, and HTTP helpers."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
import socketio
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.support import wait_for


class _Handler(WSGIRequestHandler):
    """Close the TCP connection when a websocket ends. Werkzeug would otherwise read the
    client's websocket close frame as a new HTTP request, and the client would wait 3 s for
    a reply (gunicorn, used in production and in test_processes.py, closes it)."""

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if self.headers.get("Upgrade", "").lower() == "websocket":
                self.close_connection = True


class _Server:
    def __init__(self, application) -> None:
        self.httpd = make_server("127.0.0.1", 0, application, threaded=True,
                                 request_handler=_Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture(scope="session")
def server(app):
    """The app on a real socket in this process (mongomock is in-process), websocket-ready."""
    live_server = _Server(app)
    yield live_server
    live_server.httpd.shutdown()


class LiveClient:
    """A python-socketio client that records every event it receives, in order."""

    def __init__(self, url: str, reconnection: bool = False) -> None:
        self.url = url
        self.sio = socketio.Client(reconnection=reconnection, reconnection_delay=0.2,
                                   reconnection_delay_max=0.5)
        self.received: list[tuple[str, object]] = []
        self.lock = threading.Lock()
        self.sio.on("*", self._record)
        self.sio.on("connect_error", lambda data=None: self._record("connect_error", data))

    def _record(self, event, *args) -> None:
        with self.lock:
            self.received.append((event, args[0] if len(args) == 1 else args))

    def connect(self, token: str | None = None, auth: object = None, headers: dict | None = None,
                transports: tuple = ("websocket",)) -> LiveClient:
        if auth is None and token is not None:
            auth = {"token": token}
        self.sio.connect(self.url, auth=auth, headers=headers or {}, transports=list(transports),
                         wait_timeout=10)
        return self

    @property
    def connected(self) -> bool:
        return self.sio.connected

    def call(self, event: str, *data, timeout: float = 10):
        return self.sio.call(event, data[0] if len(data) == 1 else data, timeout=timeout)

    def subscribe(self, **target) -> dict:
        return self.call("subscribe", target)

    def events(self, name: str) -> list:
        with self.lock:
            return [data for event, data in self.received if event == name]

    def wait(self, name: str, predicate=lambda data: True, timeout: float = 15) -> dict:
        return wait_for(lambda: next((d for d in self.events(name) if predicate(d)), None),
                        timeout=timeout)

    def barrier(self) -> None:
        """Return once everything the server queued for us before now has arrived: an
        acknowledgement travels behind earlier packets on the same connection."""
        self.call("barrier")

    def disconnect(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


class DroppingProxy:
    """A TCP proxy in front of a server whose ``drop()`` cuts every open connection, as a
    lost network would (no close frames); new connections go through again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:  # shut down before closing: a close alone neither sends the FIN nor wakes
            for sock in (src, dst):  # the other pipe's thread while it is blocked in recv
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def drop(self) -> None:
        with self.lock:
            doomed, self.open = self.open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()
        self.drop()


@pytest.fixture
def proxy(server):
    dropping = DroppingProxy(server.httpd.server_port)
    yield dropping
    dropping.close()


@pytest.fixture
def live(server):
    """``live(token)`` -> a connected LiveClient on the in-process server (closed after)."""
    clients: list[LiveClient] = []

    def connect(token: str | None = None, url: str | None = None, reconnection: bool = False,
                **kwargs) -> LiveClient:
        client = LiveClient(url or server.url, reconnection)
        clients.append(client)
        return client.connect(token, **kwargs)

    yield connect
    for client in clients:
        client.disconnect()


class Rest:
    """The REST calls the live tests make, over real HTTP."""

    def __init__(self, http) -> None:
        self.http = http
        self.base = http.base

    def call(self, method: str, path: str, actor=None, expect: int | tuple = (200, 201), **kw):
        headers = actor.headers if actor is not None else {}
        response = self.http.request(method, self.base + path, headers=headers, **kw)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, (response.status_code, response.text)
        return response.json() if response.content else None

    def post(self, actor, **body) -> dict:
        body.setdefault("kind", "post")
        return self.call("POST", "/posts", actor, json=body)

    def follow(self, fan, author) -> dict:
        return self.call("POST", f"/accounts/{author.id}/follow", fan)


@pytest.fixture
def rest(http) -> Rest:
    return Rest(http)


def refusal(url: str, **kwargs) -> str:
    """Connect and expect a ``connect_error``; returns its message."""
    client = LiveClient(url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(**kwargs)
    errors = client.events("connect_error")
    return (errors[-1] or {}).get("message", "") if errors else ""
