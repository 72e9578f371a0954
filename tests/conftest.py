"""Fixtures on real parts: a real redis-server, the real app, real HTTP, a real worker.

One app serves the whole session (Flask-SocketIO, Celery and the limiter are process-wide);
every test starts with an empty database and an empty Redis (the Celery broker's own keys
excepted).

``REDIS_URL`` in the environment (``tests/harness.py`` sets it per shape) is used instead
of a private redis-server: ``redis+cluster://...`` runs every test on a Redis Cluster, with
``CELERY_BROKER_URL`` and ``SOCKETIO_MESSAGE_QUEUE`` on a plain Redis.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from app.factory import create_app
from app.redis_clients import primaries
from app.redis_server import RedisServer
from tests import live_contract
from tests.support import Actor

_names = itertools.count(1)


@pytest.fixture(scope="session")
def redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def app(redis_url, tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    application = create_app(
        REDIS_URL=redis_url,
        VAR_DIR=str(var),
        MEDIA_DIR=str(var / "media"),
        UPLOAD_DIR=str(var / "uploads"),
        SEARCH_DIR=str(var / "search"),
        SECRET_KEY="test-secret",
        DEMO_DATA=False,
        EMBEDDED_WORKER=True,
        WORKER_CONCURRENCY=4,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_KIB=1024,
        RATELIMIT_SCALE=1000,  # suites about limits set it back to 1
        TESTING=True,
    )
    live_contract.remember(application)
    yield application
    from app import runtime

    runtime.stop(application)


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty MongoDB and Redis before each test that uses the app."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        from app.db import drop_all

        drop_all()
        for node in primaries(application.extensions["redis"]):  # every master of a cluster
            keys = [k for k in node.scan_iter(count=1000) if not k.startswith(("_kombu", "unacked"))]
            for i in range(0, len(keys), 1000):
                pipe = node.pipeline(transaction=False)  # one key a command: any slots
                for key in keys[i:i + 1000]:
                    pipe.delete(key)
                pipe.execute()
    yield


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    """The app on a real socket, in a thread of this process (mongomock is in-process)."""

    def __init__(self, application) -> None:
        self.httpd = make_server("127.0.0.1", 0, application, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="session")
def server(app):
    live = LiveServer(app)
    yield live
    live.stop()


@pytest.fixture
def http(server):
    """A requests session with ``base`` for the live server: ``http.get(http.base + path)``."""
    session = requests.Session()
    session.base = server.url + "/api/v1"
    return session


@pytest.fixture
def make_account(app):
    """Create an account through the service layer: ``make_account("merchant", roles=("admin",))``."""

    def make(kind: str = "fan", roles: tuple = (), username: str | None = None, **fields) -> Actor:
        from app.accounts import service, tokens
        from app.accounts.schemas import AccountSchema

        with app.app_context():
            name = username or f"{kind}{next(_names)}"
            account = service.register(
                {"username": name, "password": "password123", "display_name": name.title(),
                 "kind": kind, **fields}
            )
            for role in roles:
                service.grant_role(name, role)
            token = tokens.issue(account.id)
            shown = AccountSchema().dump(service.Seen(account, private=True))
            return Actor(str(account.id), name, token, shown)

    return make


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright (pages and video playback tests)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


def pytest_sessionstart(session):
    """Record every Socket.IO event the tests receive (checked at the end of the session)."""
    session.config._live_contract_undo = live_contract.record()


def pytest_sessionfinish(session, exitstatus):
    """Every event the server emitted during the suite conforms to /api/asyncapi.json."""
    session.config._live_contract_undo()
    checked, wrong = live_contract.violations()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if wrong:
        if reporter:
            reporter.write_line(f"AsyncAPI: {len(wrong)} of the {checked} received events "
                                f"do not conform:", red=True)
            for line in wrong[:50]:
                reporter.write_line("  " + line, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter and checked:
        reporter.write_line(f"AsyncAPI: all {checked} received Socket.IO events conform")

