"""Across OS processes, over real sockets: two gunicorn web servers (one gthread, one gevent:
both production worker classes serve real websockets) and a worker-like emitter share one
Redis; a Redis restart does not leave a web process deaf.

What is shared, realistically: in production every process reads one MongoDB. Here each
process has its own in-process mongomock, so the gunicorn web servers and the emitter see the
accounts, tokens, follows and posts this test process creates only through the shared Redis
caches (tokens, accounts, follow sets, post JSON), which the test warms first. That is the
path a production process takes when its caches are warm; nothing is faked on the wire.
"""

from __future__ import annotations

import pytest

from app.redis_server import RedisServer
from tests.live.conftest import LiveClient
from tests.live.processes import WebProcess, WorkerProcess
from tests.support import wait_for


@pytest.fixture(scope="module")
def cluster(redis_url, tmp_path_factory):
    """web1 (gunicorn, gthread), web2 (gunicorn, gevent) and a worker, on the session's Redis."""
    root = tmp_path_factory.mktemp("cluster")
    webs = [WebProcess(redis_url, root / "web1", "gthread"),
            WebProcess(redis_url, root / "web2", "gevent")]
    worker = WorkerProcess(redis_url, root / "worker")
    try:
        for web in webs:
            web.wait_ready()
        worker.wait_ready()
        yield webs, worker
    finally:
        worker.stop()
        for web in webs:
            web.stop()


@pytest.fixture
def clients():
    made: list[LiveClient] = []

    def connect(url: str, token: str | None = None) -> LiveClient:
        client = LiveClient(url)
        made.append(client)
        return client.connect(token)

    yield connect
    for client in made:
        client.disconnect()


def _warm(app, *actors) -> None:
    """Fill the Redis caches the other processes read (they would read MongoDB in production)."""
    from app.accounts import service
    from feed import graph

    with app.app_context():
        for actor in actors:
            service.get(actor.id)
            graph.following_ids(actor.id)
            graph.hidden_ids(actor.id)
            graph.blocked_by(actor.id)


def _feed_new(client: LiveClient, post_id: str) -> list:
    return [e for e in client.events("feed.new") if e["post"]["id"] == post_id]


def test_events_cross_web_and_worker_processes(app, cluster, clients, make_account, rest):
    (web1, web2), worker = cluster
    author, fan1, fan2 = make_account("merchant"), make_account("fan"), make_account("fan")
    rest.follow(fan1, author)
    _warm(app, author, fan1, fan2)
    on_web1 = clients(web1.url, fan1.token)
    on_web2 = clients(web2.url, fan2.token)
    author_on_web1 = clients(web1.url, author.token)

    # a follow made through this process's web server moves fan2's rooms on web2
    rest.follow(fan2, author)
    # published here: the fan-out job of this process's worker emits; web1 and web2 deliver
    post = rest.post(author, text="across processes")
    for client in (on_web1, on_web2, author_on_web1):
        client.wait("feed.new", lambda e: e["post"]["id"] == post["id"])
    # emitted by a request of this process's web server (a notification), delivered by web1
    rest.call("POST", f"/posts/{post['id']}/like", fan2)
    note = author_on_web1.wait("notification", lambda e: e["type"] == "like")
    assert note["actor"]["id"] == fan2.id and note["post_id"] == post["id"]

    # the fan-out job's live step in a separate worker process: a no-op once the publish
    # emitted; when the publish-time emit did not happen, the worker's emit reaches both
    worker("post_published", post_id=post["id"])
    with app.app_context():
        app.extensions["redis"].delete(f"live-published:{post['id']}")
    worker("post_published", post_id=post["id"])
    worker("post_published", post_id=post["id"])
    for client in (on_web1, on_web2):
        wait_for(lambda c=client: len(_feed_new(c, post["id"])) == 2)
        client.barrier()
        assert len(_feed_new(client, post["id"])) == 2
    # a test-only event (its payload is no contract event's, see tests/live_contract.py)
    worker("emit", event="test.probe", room=f"account:{fan2.id}",
           payload={"type": "follow", "actor": {"id": author.id}, "unread_count": 7})
    assert on_web2.wait("test.probe")["unread_count"] == 7

    # a logout handled by web1 closes the socket web2 holds for that token
    response = rest.http.delete(web1.url + "/api/v1/auth/token", headers=fan2.headers, timeout=10)
    assert response.status_code == 204, response.text
    wait_for(lambda: not on_web2.connected)
    assert on_web1.connected


def test_tokens_expiring_close_sockets_on_both_worker_classes(app, cluster, clients,
                                                             make_account, monkeypatch):
    """Each web process re-checks its own sockets' tokens: gthread (threads) and gevent
    (greenlets) alike close a socket once its token has expired."""
    from app.accounts import tokens

    (web1, web2), _worker = cluster
    fan = make_account("fan")
    _warm(app, fan)
    monkeypatch.setitem(app.config, "TOKEN_TTL_SECONDS", 2)
    with app.app_context():
        short_lived = tokens.issue(fan.id)
    monkeypatch.undo()
    expiring = [clients(web.url, short_lived) for web in (web1, web2)]
    lasting = [clients(web.url, fan.token) for web in (web1, web2)]
    for client in expiring:
        wait_for(lambda c=client: not c.connected)
    for client in lasting:
        client.barrier()
        assert client.connected


def test_a_redis_restart_does_not_leave_a_web_process_deaf(tmp_path):
    redis = RedisServer(directory=str(tmp_path / "redis")).start()
    web = WebProcess(redis.url, tmp_path / "web", "gevent")
    worker = WorkerProcess(redis.url, tmp_path / "worker")
    client = LiveClient(web.url)
    try:
        web.wait_ready()
        worker.wait_ready()
        author_id = worker("account", username="restart_author")
        client.connect()  # anonymous: nothing to re-check against the emptied Redis
        assert client.subscribe(account_id=author_id) == {"ok": True}
        room = f"page:{author_id}:default"

        def delivered(tag: str) -> None:
            """Emit through the Socket.IO queue and the control channel until both arrive (a
            test-only event: the payload is no contract event's, see tests/live_contract.py)."""

            def both() -> bool:
                got = {e["post"]["text"] for e in client.events("test.probe")}
                if f"{tag} queue" not in got:
                    worker("emit", event="test.probe", room=room,
                           payload={"post": {"text": f"{tag} queue"}})
                if f"{tag} control" not in got:
                    worker("emit_matching", event="test.probe", rooms=[room], audience=None,
                           payload={"post": {"text": f"{tag} control"}})
                return {f"{tag} queue", f"{tag} control"} <= got

            wait_for(both, timeout=40, interval=0.3)

        delivered("before")
        redis.stop()
        redis.start()  # same port, empty
        delivered("after")
        assert client.connected  # the client never noticed
    finally:
        client.disconnect()
        worker.stop()
        web.stop()
        redis.stop()
