"""Redis keys the feed's hot paths read, and the helpers that rebuild them from MongoDB.

Everything here can be rebuilt from MongoDB: a missing key is loaded again on first use.
Sets that may legitimately be empty carry a sentinel member ``""`` so that "empty" and
"missing" differ. Per-account keys hold their id in braces (``tl:{id}``) so that all keys
of one account land in one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from app.extensions import redis_client
from app.times import as_utc

SENTINEL = ""
POST_TTL = 24 * 3600


def timeline_key(account_id: object) -> str:
    return f"tl:{{{account_id}}}"


def recent_key(author_id: object) -> str:
    return f"recent:{{{author_id}}}"


def followers_key(author_id: object) -> str:
    return f"followers:{{{author_id}}}"


def following_key(account_id: object) -> str:
    return f"following:{{{account_id}}}"


def hidden_key(account_id: object) -> str:
    """Authors the account blocked or muted: gone from its feeds."""
    return f"hidden:{{{account_id}}}"


def blocked_by_key(account_id: object) -> str:
    """Accounts that blocked this account: their posts are invisible to it."""
    return f"blocked-by:{{{account_id}}}"


def liked_key(account_id: object) -> str:
    return f"liked:{{{account_id}}}"


def post_key(post_id: object) -> str:
    return f"post:{post_id}"


def counts_key(post_id: object) -> str:
    return f"pc:{post_id}"


def views_key(post_id: object) -> str:
    return f"pv:{post_id}"


BIG_AUTHORS = "big-authors"  # authors above FANOUT_MAX_FOLLOWERS: pulled at read time


def score(created_at: datetime) -> int:
    """Timeline score: milliseconds since the epoch of the post's creation."""
    return int(as_utc(created_at).timestamp() * 1000)


def ensure_set(key: str, loader: Callable[[], Iterable[str]], ttl: int | None = None) -> None:
    """Load ``key`` from MongoDB if Redis does not have it (any more)."""
    if redis_client.exists(key):
        return
    members = [str(m) for m in loader()]
    pipe = redis_client.pipeline()
    pipe.sadd(key, SENTINEL, *members)
    if ttl:
        pipe.expire(key, ttl)
    pipe.execute()


def set_members(key: str, loader: Callable[[], Iterable[str]]) -> set[str]:
    """Members of a cached set; one round trip when warm (the sentinel marks it present)."""
    members = redis_client.smembers(key)
    if not members:
        ensure_set(key, loader)
        members = redis_client.smembers(key)
    members.discard(SENTINEL)
    return members


_SADD_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SADD', KEYS[1], unpack(ARGV)) end
return 0
"""


def add_if_cached(key: str, *members: str) -> None:
    """Keep a cached set in step with a write, without creating a partial set."""
    redis_client.eval(_SADD_IF_EXISTS, 1, key, *members)


def remove_if_cached(key: str, *members: str) -> None:
    redis_client.srem(key, *members)
