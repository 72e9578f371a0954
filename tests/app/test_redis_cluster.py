"""Redis Cluster: slot errors fail loudly, the queues refuse a cluster, the data spreads.

These run on a real local cluster (3 masters, 3 replicas): the one the production shape
gave the app in ``REDIS_URL``, else one started here. The rest of the suite runs on that
cluster in the production shape, where a command or script of ours whose keys span slots
would fail the test that reaches it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.exceptions import CrossSlotTransactionError, RedisClusterException, ResponseError

from app.config import queue_urls
from app.redis_clients import connect, is_cluster, primaries, queue_eval, read_many
from tests.servers.redis_cluster import RedisCluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster_url() -> str:
    given = os.environ.get("REDIS_URL")
    if is_cluster(given):
        yield given
        return
    cluster = RedisCluster().start()
    yield cluster.url
    cluster.stop()


@pytest.fixture
def rc(cluster_url):
    client = connect(cluster_url, decode_responses=True)
    yield client
    for node in primaries(client):
        for key in node.scan_iter("slot-test:*"):
            node.delete(key)
    client.close()


def test_the_url_selects_a_cluster_client(rc):
    assert isinstance(rc, redis.cluster.RedisCluster)
    assert len(rc.get_primaries()) == 3
    assert len(primaries(rc)) == 3


def test_a_script_whose_keys_span_slots_raises(rc):
    script = "return redis.call('MGET', KEYS[1], KEYS[2])"
    with pytest.raises(RedisClusterException, match="same key slot"):
        rc.eval(script, 2, "slot-test:{a}", "slot-test:{b}")
    # sent anyway, the master refuses it (CROSSSLOT): nothing splits it silently
    node = rc.get_node_from_key("slot-test:{a}")
    with pytest.raises(ResponseError, match="same slot"):  # CROSSSLOT
        rc.get_redis_connection(node).eval(script, 2, "slot-test:{a}", "slot-test:{b}")
    # nor may a script reach a key it did not declare, in another slot
    with pytest.raises(ResponseError, match="(?i)script attempted to access"):
        rc.eval("return redis.call('GET', ARGV[1])", 1, "slot-test:{a}", "slot-test:{b}")
    # one hash tag, one slot: it runs
    assert rc.eval(script, 2, "slot-test:{a}:x", "slot-test:{a}:y") == [None, None]


def test_a_transaction_whose_keys_span_slots_raises_and_writes_nothing(rc):
    pipe = rc.pipeline(transaction=True)
    pipe.set("slot-test:{a}", 1)
    pipe.set("slot-test:{b}", 1)
    with pytest.raises(CrossSlotTransactionError):
        pipe.execute()
    assert rc.exists("slot-test:{a}", "slot-test:{b}") == 0
    # a script queued in a transaction is checked the same way
    pipe = rc.pipeline(transaction=True)
    with pytest.raises(RedisClusterException):
        queue_eval(pipe, "return 1", 2, "slot-test:{a}", "slot-test:{b}")
        pipe.execute()


def test_multi_key_commands_spanning_slots_raise(rc):
    with pytest.raises(RedisClusterException, match="same key slot"):
        rc.mget(["slot-test:{a}", "slot-test:{b}"])
    with pytest.raises(RedisClusterException, match="same key slot"):
        rc.sunionstore("slot-test:{a}", ["slot-test:{b}"])
    rc.set("slot-test:{b}", "2")
    assert read_many(rc, ["slot-test:{a}", "slot-test:{b}"]) == [None, "2"]  # said non-atomic


def _pipeline_calls() -> list[str]:
    """``x.pipeline()`` calls in the service code that do not say ``transaction=``."""
    unsaid = []
    for package in ("app", "feed", "media", "moderation", "search"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "pipeline"
                        and not any(k.arg == "transaction" for k in node.keywords)):
                    unsaid.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return unsaid


def test_every_pipeline_says_whether_it_is_a_transaction():
    """A cluster's bare ``pipeline()`` is split per node without a word, one Redis's is a
    MULTI: each of ours says which it means, so an atomic one raises across slots."""
    assert _pipeline_calls() == []


def test_the_queues_refuse_a_cluster():
    plain = "redis://127.0.0.1:6390/0"
    assert queue_urls(plain, None, None) == (plain, plain)
    assert queue_urls("redis+cluster://127.0.0.1:7000", plain, plain) == (plain, plain)
    with pytest.raises(RuntimeError, match="CELERY_BROKER_URL and SOCKETIO_MESSAGE_QUEUE"):
        queue_urls("redis+cluster://127.0.0.1:7000", None, None)
    with pytest.raises(RuntimeError, match="SOCKETIO_MESSAGE_QUEUE would be a Redis Cluster"):
        queue_urls("redis+cluster://127.0.0.1:7000", plain, None)


def test_a_process_on_a_cluster_without_plain_queues_stops_at_once():
    env = {k: v for k, v in os.environ.items()
           if k not in ("CELERY_BROKER_URL", "SOCKETIO_MESSAGE_QUEUE", "MONGODB_URI")}
    env.update(REDIS_URL="redis+cluster://127.0.0.1:1", SECRET_KEY="x", DEMO_DATA="0",
               EMBEDDED_WORKER="0")
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "set CELERY_BROKER_URL" in result.stderr


def test_per_account_keys_spread_evenly_over_the_masters(rc):
    from bson import ObjectId

    from feed import cache

    counts: dict[str, int] = {}
    for _ in range(30_000):
        node = rc.get_node_from_key(cache.timeline_key(ObjectId())).name
        counts[node] = counts.get(node, 0) + 1
    assert len(counts) == 3
    assert max(counts.values()) / min(counts.values()) < 1.1


def test_deliver_pushes_every_active_timeline_in_many_chunks_and_returns_its_connections(ctx):
    """The real fan-out path on the app's Redis (one, or a cluster in the production shape):
    200 chunks, so a connection kept per chunk would exhaust the pool (100)."""
    from bson import ObjectId

    from app.extensions import redis_client
    from app.redis_clients import primaries
    from feed import cache, fanout

    followers = [str(ObjectId()) for _ in range(400)]
    active = followers[::4]
    for account_id in active:
        redis_client.zadd(cache.timeline_key(account_id), {cache.SENTINEL: 0})
    chunks = [followers[i:i + 2] for i in range(0, len(followers), 2)]
    post = str(ObjectId())
    assert fanout.deliver(post, 1000, chunks, 800) == len(active)
    assert all(redis_client.zscore(cache.timeline_key(a), post) == 1000 for a in active)
    assert not any(redis_client.exists(cache.timeline_key(f)) for f in followers[1::4])
    for node in primaries(redis_client._get_current_object()):
        assert len(node.connection_pool._in_use_connections) == 0
