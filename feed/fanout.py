"""Fan-out on publish: push a post id into followers' home timelines, in pipelined batches.

The hybrid used by large social networks: authors with up to ``FANOUT_MAX_FOLLOWERS``
followers are pushed; bigger authors are pulled by readers at read time (``timeline.py``).
Only active followers are pushed: a timeline key exists only while its owner has read their
feed within ``FEED_ACTIVE_DAYS``; others are rebuilt from MongoDB when they come back.
Pushing is idempotent (ZADD of the same member and score), so a re-run job changes nothing.

The outbox: a post becomes published with ``fanout_due`` set in the same write; the job
clears it after delivering, and :func:`sweep` queues the fan-out again for any post still
marked ``FANOUT_SWEEP_SECONDS`` later (the web process died before queueing it, or the
worker died while delivering it), so nothing published is left undelivered.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from itertools import chain
from typing import Any

from flask import current_app
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError

from app.accounts import service as accounts
from app.extensions import redis_client
from app.iterables import batched
from app.jobs import enqueue
from app.times import utcnow
from feed import audience, cache, graph, stamps
from feed.models import Post

# One follower's timeline per call, so each call stays in one Redis Cluster slot.
# Pushes only into an existing (active) timeline (it always holds the sentinel, so ZCARD
# is 0 only for a missing one) and trims it to the cap. A missing timeline that is being
# rebuilt (its loading marker exists) gets the post in its pending set instead.
PUSH_LUA = """
local n = redis.call('ZCARD', KEYS[1])
if n == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
    redis.call('EXPIRE', KEYS[3], 120)
  end
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if n >= tonumber(ARGV[3]) then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
end
return 1
"""
RECENT_MAX = 200
SWEEP_BATCH = 500

log = logging.getLogger(__name__)


def _push_sha() -> str:
    """The push script's SHA1, loaded into Redis (again after a restart)."""
    return redis_client.script_load(PUSH_LUA)


def record_recent(post: Post) -> None:
    """The author's recent published posts: what pulled authors' readers merge."""
    key = cache.recent_key(post.author)
    ensure_recent(post.author)
    pipe = redis_client.pipeline(transaction=True)
    pipe.zadd(key, {str(post.id): cache.score(post.created_at)})
    pipe.zremrangebyrank(key, 0, -(RECENT_MAX + 2))  # + the sentinel
    pipe.execute()


def ensure_recent(author_id: object) -> str:
    key = cache.recent_key(author_id)
    if not redis_client.exists(key):
        posts = Post.objects(author=author_id, status="published").order_by("-created_at")
        members = {str(p.id): cache.score(p.created_at) for p in posts.only("id", "created_at")
                   .limit(RECENT_MAX)}
        redis_client.zadd(key, {cache.SENTINEL: 0, **members})
    return key


def followers(author_id: object, batch: int) -> Iterator[list[str]]:
    """The author's followers from the Redis graph cache, in batches (rebuilt if missing)."""
    key = cache.followers_key(author_id)
    loaded = cache.ensure_set(key, lambda: graph.follower_ids(author_id))
    members = loaded if loaded is not None else redis_client.sscan_iter(key, count=batch)
    yield from batched((m for m in members if m != cache.SENTINEL), batch)


def _push_commands(sha: str, post_id: str, score: int, account_ids: list[str],
                   cap: int) -> list[tuple]:
    commands = []
    for account_id in account_ids:
        key = cache.timeline_key(account_id)
        commands.append(("EVALSHA", sha, 3, key, cache.loading_key(key),
                         cache.pending_key(account_id), score, post_id, cap))
    return commands


class _Lane:
    """One connection to one Redis (a cluster master) with replies still to read."""

    def __init__(self, pool: Any) -> None:
        self.pool, self.conn, self.unread = pool, pool.get_connection(), 0

    def send(self, commands: list[tuple]) -> None:
        self.conn.send_packed_command(self.conn.pack_commands(commands))

    def read(self) -> int:
        written = sum(self.conn.read_response() for _ in range(self.unread))
        self.unread = 0
        return written


def _lanes_for(commands: list[tuple], lanes: dict[str, _Lane],
               masters: dict[int, str]) -> dict[str, list[tuple]]:
    """The chunk's commands by the master that serves each timeline's slot (``masters``:
    slot to master, filled as slots come up, for this delivery)."""
    if not isinstance(redis_client._get_current_object(), RedisCluster):
        if "" not in lanes:
            lanes[""] = _Lane(redis_client.connection_pool)
        return {"": commands}
    by_node: dict[str, list[tuple]] = {}
    for command in commands:
        slot = key_slot(command[3].encode())
        name = masters.get(slot)
        if name is None:
            node = redis_client.nodes_manager.get_node_from_slot(slot)
            name = masters[slot] = node.name
            if name not in lanes:
                lanes[name] = _Lane(redis_client.get_redis_connection(node).connection_pool)
        by_node.setdefault(name, []).append(command)
    return by_node


def deliver(post_id: str, score: int, chunks: Iterable[list[str]], cap: int) -> int:
    """Push into the timelines of every chunk; returns how many were active.

    A pipeline with one chunk in flight: the next chunk is sent before the replies to the
    previous one are read, so Redis runs one chunk's scripts while Python packs the next
    (with ``pipeline.execute`` the two take turns). On a Redis Cluster each master gets its
    share of the chunk on its own connection, so the masters work side by side. Replies are
    read in order on each connection; after an error the connections are dropped, never
    reused half read (a cluster re-reads its slot map: the job's retry goes to the masters
    serving the slots then, after a failover or a resharding).
    """
    sha = _push_sha()
    lanes: dict[str, _Lane] = {}
    masters: dict[int, str] = {}
    written = 0
    try:
        for chunk in chunks:
            sent = _lanes_for(_push_commands(sha, post_id, score, chunk, cap), lanes, masters)
            for name, commands in sent.items():
                lanes[name].send(commands)
            for name, lane in lanes.items():
                written += lane.read()
                lane.unread = len(sent.get(name, ()))
        written += sum(lane.read() for lane in lanes.values())
    except BaseException:
        for lane in lanes.values():
            lane.conn.disconnect()
        if isinstance(redis_client._get_current_object(), RedisCluster):
            with contextlib.suppress(RedisError, RedisClusterException):
                redis_client.nodes_manager.initialize()
        raise
    finally:
        for lane in lanes.values():
            lane.pool.release(lane.conn)
    return written


def _matching(account_ids: list[str], rule: dict) -> list[str]:
    found = accounts.get_many(account_ids)
    return [i for i in account_ids
            if i in found and audience.matches(rule, audience.profile_of(found[i]))]


def _delivered(post: Post) -> None:
    """Take the post out of the outbox, unless it was marked again meanwhile."""
    if post.fanout_due is not None:
        Post.objects(id=post.id, fanout_due=post.fanout_due).update_one(unset__fanout_due=True)


def fan_out(post_id: str) -> int:
    """Deliver a published post; returns the number of timelines written."""
    post = Post.objects(id=post_id).first()
    if post is None:
        return 0
    if post.status != "published":
        _delivered(post)
        return 0
    config = current_app.config
    cap, batch = config["TIMELINE_MAX"], config["FANOUT_BATCH_SIZE"]
    score = cache.score(post.created_at)
    record_recent(post)
    chunks: Iterable[list[str]] = [[str(post.author)]]  # the author's own timeline
    if graph.is_big(post.author):  # pulled by readers
        stamps.pulled_changed()
    else:
        rule = audience.normalize(post.audience.to_mongo().to_dict()) if post.audience else None
        pushed = followers(post.author, batch)
        if rule:
            pushed = (_matching(chunk, rule) for chunk in pushed)
        chunks = chain(chunks, pushed)
    written = deliver(str(post.id), score, chunks, cap)
    _delivered(post)
    return written


def sweep() -> int:
    """Queue the fan-out of every post left in the outbox; returns how many were queued.

    Each one is claimed by moving its mark to now (only if nobody moved it first), so
    overlapping sweeps queue it once, and a post whose job is merely slow is queued again
    at most once per ``FANOUT_SWEEP_SECONDS`` (delivering twice changes nothing).
    """
    cutoff = utcnow() - timedelta(seconds=current_app.config["FANOUT_SWEEP_SECONDS"])
    queued = 0
    for post in Post.objects(fanout_due__lt=cutoff).only("id", "fanout_due").limit(SWEEP_BATCH):
        if not Post.objects(id=post.id, fanout_due=post.fanout_due).update_one(
                set__fanout_due=utcnow()):
            continue
        enqueue("feed.tasks.fanout_post", str(post.id))
        queued += 1
    if queued:
        log.warning("fan-out sweep: queued %d post(s) left undelivered", queued)
    return queued
