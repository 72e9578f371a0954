"""Redis clients from URLs: one Redis, or a Redis Cluster for ``redis+cluster://`` URLs.

The data (timelines, caches, counters, rate limits, locks) may live on a Redis Cluster;
the Celery broker and the Socket.IO message queue always need one plain Redis (kombu and
python-socketio's Redis manager do not speak Cluster), see ``app/config.py``.

On a cluster every multi-key command, script and transaction must keep its keys in one
hash slot: keys of one account or post carry its id in braces (``tl:{id}``, see
``feed/cache.py``). A slip fails loudly, never silently: scripts and multi-key commands
spanning slots raise (redis-py checks EVAL's keys and MGET's before sending, the server
answers CROSSSLOT), and a MULTI/EXEC pipeline (``transaction=True``) spanning slots raises
``CrossSlotTransactionError``. A cluster's ``pipeline()`` without arguments is *not* a
transaction (on one Redis it is), so our code always says which it wants
(``tests/app/test_redis_cluster.py`` checks). Only DEL/EXISTS/UNLINK/TOUCH of several keys
are split per slot by redis-py (each key alone is the same operation), and ``read_many``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import ClusterNode
from redis.cluster import RedisCluster as _RedisCluster

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")

Client = redis.Redis | _RedisCluster


def is_cluster(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in CLUSTER_SCHEMES


def connect(url: str, **options: Any) -> Client:
    """A client for ``url``: ``redis://`` (one server) or ``redis+cluster://host:port[,host:port]``
    (any nodes of the cluster as seeds; the client discovers the rest)."""
    if not is_cluster(url):
        return redis.Redis.from_url(url, **options)
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    seeds = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        seeds.append(ClusterNode(name or "127.0.0.1", int(port or 6379)))
    if username:
        options["username"] = unquote(username)
    if password:
        options["password"] = unquote(password)
    if parts.scheme.startswith("rediss"):
        options["ssl"] = True
    options.pop("health_check_interval", None)  # the cluster client checks nodes itself
    return _RedisCluster(startup_nodes=seeds, **options)


def read_many(client: Client, keys: Sequence[str]) -> list[Any]:
    """GET of many unrelated keys (caches of different accounts): one MGET on a single
    Redis, one MGET per slot on a cluster (no atomicity is needed between them)."""
    if not keys:
        return []
    if isinstance(client, _RedisCluster):
        return client.mget_nonatomic(list(keys))
    return client.mget(list(keys))


def primaries(client: Client) -> list[redis.Redis]:
    """A plain client per master (one for a single Redis): for SCAN, INFO, FLUSHALL."""
    if isinstance(client, _RedisCluster):
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def queue_eval(pipe: Any, script: str, numkeys: int, *keys_and_args: Any) -> None:
    """EVAL queued in a pipeline: a cluster's pipeline has no ``eval`` method, but sends the
    command to the master of its keys' slot (one slot, or it raises)."""
    pipe.execute_command("EVAL", script, numkeys, *keys_and_args)
