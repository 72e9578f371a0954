"""MongoDB stopped under a running web process: requests answer 503 ``database_unavailable``
(the contract's shape, never a 500, never a hang), ``/healthz`` names it, and everything works
again, with everything accepted before, once the server is back.

Real parts: a mongoeco wire server process (its SQLite engine keeps the data across the
restart, like a MongoDB with its disk), gunicorn serving ``wsgi:app`` with ``MONGODB_URI``,
the session's redis-server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.servers.mongoeco import MongoecoServer, free_port
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(redis_url, tmp_path):
    """A mongoeco server and one gunicorn web process on it (no worker: none is needed)."""
    mongo = MongoecoServer(sqlite=tmp_path / "mongo.db", log=tmp_path / "mongoeco.log").start()
    port = free_port()
    env = {**os.environ, "MONGODB_URI": mongo.uri("fanhub_down"), "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "var"), "HOST": "127.0.0.1",
           "PORT": str(port), "WEB_THREADS": "16", "EMBEDDED_WORKER": "0", "DEMO_DATA": "0",
           "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "RATELIMIT_SCALE": "1000",
           "MONGODB_TIMEOUT_MS": "1500", "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py",
                            "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up():
        assert web.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        try:
            return requests.get(url + "/healthz", timeout=20).status_code in (200, 503)
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=60)
        yield url, mongo
    finally:
        web.terminate()
        web.wait(20)
        log.close()
        mongo.stop()


def _health(url: str) -> dict:
    return requests.get(url + "/healthz", timeout=20).json()["components"]["mongo"]


def test_database_down_answers_503_and_recovers(stack):
    url, mongo = stack
    api = url + "/api/v1"
    r = requests.post(api + "/auth/register", timeout=20, json={
        "username": "keeper", "password": "a long password", "display_name": "K", "kind": "merchant"})
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    before = requests.post(api + "/posts", json={"kind": "post", "text": "before"}, headers=auth,
                           timeout=20)
    assert before.status_code == 201, before.text
    assert _health(url)["status"] == "ok"

    port, sqlite = mongo.port, mongo.sqlite
    mongo.stop()
    # writes and reads that need the database: 503 in the contract's shape, answered well
    # inside the client's timeout (requests raises if it waits longer)
    for method, path, body in (("POST", "/posts", {"kind": "post", "text": "while down"}),
                               ("POST", "/auth/register", {"username": "late", "kind": "fan",
                                                           "password": "a long password",
                                                           "display_name": "L"}),
                               ("GET", "/accounts/@keeper/posts", None)):
        r = requests.request(method, api + path, json=body, headers=auth, timeout=20)
        assert r.status_code == 503, (path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "database_unavailable"
        assert r.headers["Retry-After"]
    assert _health(url)["status"] == "down"

    MongoecoServer(port=port, sqlite=sqlite, log=Path(sqlite).with_suffix(".restart.log")).start()
    mongo.process = None
    wait_for(lambda: _health(url)["status"] == "ok", timeout=30, interval=0.5)
    after = requests.post(api + "/posts", json={"kind": "post", "text": "after"}, headers=auth,
                          timeout=20)
    assert after.status_code == 201, after.text
    listed = requests.get(api + "/accounts/@keeper/posts", headers=auth, timeout=20)
    assert listed.status_code == 200, listed.text
    texts = [p["text"] for p in listed.json()["items"]]
    assert texts == ["after", "before"]  # the write accepted before the stop is there
