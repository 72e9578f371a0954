"""Redis keys the feed's hot paths read, and the helpers that rebuild them from MongoDB.

Everything here can be rebuilt from MongoDB: a missing key is loaded again on first use.
Sets that may legitimately be empty carry a sentinel member ``""`` so that "empty" and
"missing" differ. Per-account keys hold their id in braces (``tl:{id}``) so that all keys
of one account land in one Redis Cluster slot.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime

from app.extensions import redis_client
from app.times import as_utc

SENTINEL = ""
POST_TTL = 24 * 3600


def timeline_key(account_id: object) -> str:
    return f"tl:{{{account_id}}}"


def pending_key(account_id: object) -> str:
    """Posts fanned out while the account's timeline was being rebuilt: the rebuild merges
    them, so a post published during a rebuild is never lost."""
    return f"tl:{{{account_id}}}:pending"


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
    """A hash: ``json`` (what every viewer sees of the post) and the counts ``like``,
    ``comment``, ``view``; one HMGET hydrates a post."""
    return f"post:{{{post_id}}}"


def views_key(post_id: object) -> str:
    """The post's unique-viewer sketch (HyperLogLog), in the post hash's slot."""
    return f"pv:{{{post_id}}}"


BIG_AUTHORS = "big-authors"  # authors above FANOUT_MAX_FOLLOWERS: pulled at read time


def campaign_counts_key(campaign_id: object) -> str:
    """A campaign's entry and participant counts with the version they were counted at."""
    return f"campaign:{{{campaign_id}}}:counts"


def campaign_version_key(campaign_id: object) -> str:
    """Moved whenever the campaign's entries or their authors change."""
    return f"campaign:{{{campaign_id}}}:version"


def score(created_at: datetime) -> int:
    """Timeline score: milliseconds since the epoch of the post's creation."""
    return int(as_utc(created_at).timestamp() * 1000)


def claim_key(key: str) -> str:
    """Held by the one request refreshing ``key`` (whose name carries its Cluster slot)."""
    return f"{key}:claim"


def claim(key: str, seconds: int) -> bool:
    """True for the one request that refreshes the shared value at ``key`` (the claim
    lapses after ``seconds``); the others go on serving the value they have."""
    return bool(redis_client.set(claim_key(key), 1, nx=True, ex=seconds))


def loading_key(key: str) -> str:
    """Marks a load in progress; in the same Redis Cluster slot as ``key``."""
    return f"{key}:loading" if "{" in key else f"{{{key}}}:loading"


# Store a loaded set only if no write touched it since the load began (the marker is gone
# then): otherwise a follow written between the MongoDB read and the store would be missing
# from the cached set for as long as the set lives.
_STORE_IF_UNTOUCHED = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SADD', KEYS[1], unpack(ARGV, 3))
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


def ensure_set(key: str, loader: Callable[[], Iterable[str]],
               ttl: int | None = None) -> list[str] | None:
    """Load ``key`` from MongoDB if Redis does not have it (any more).

    Returns None when Redis has the set, else the members this call read from MongoDB
    (another reader was loading it, or writers kept cancelling this load): the caller uses
    them this once.

    Race-safe against writers: ``add_if_cached``/``remove_if_cached`` on a missing key
    cancel a load in progress, so a load that read MongoDB before a write never stores a
    set without it (the next reader loads again and sees the write). Concurrent readers do
    not cancel each other: the first takes the marker and stores, the others read MongoDB
    for themselves.
    """
    marker = loading_key(key)
    members: list[str] | None = None
    for _ in range(3):  # a cancelled load is retried: it then reads MongoDB after the write
        if redis_client.exists(key):
            return None
        token = secrets.token_hex(8)
        mine = redis_client.set(marker, token, ex=60, nx=True)
        members = [str(m) for m in loader()]
        if not mine:
            return members
        if redis_client.eval(_STORE_IF_UNTOUCHED, 2, key, marker, token, ttl or 0, SENTINEL,
                             *members):
            return None
    return members


def set_members(key: str, loader: Callable[[], Iterable[str]],
                ttl: int | None = None) -> set[str]:
    """Members of a cached set; one round trip when warm (the sentinel marks it present)."""
    members = redis_client.smembers(key)
    if not members:
        loaded = ensure_set(key, loader, ttl)
        members = set(loaded) if loaded is not None else redis_client.smembers(key)
    members.discard(SENTINEL)
    return members


_SADD_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SADD', KEYS[1], unpack(ARGV)) end
redis.call('DEL', KEYS[2])
return 0
"""


def add_if_cached(key: str, *members: str) -> None:
    """Keep a cached set in step with a write, without creating a partial set (and cancel a
    load of it in progress, which may have read MongoDB before this write)."""
    redis_client.eval(_SADD_IF_EXISTS, 2, key, loading_key(key), *members)


def forget_set(key: str) -> None:
    """Drop a cached set we are unsure of (and cancel a load of it in progress): the next
    reader rebuilds it from MongoDB."""
    redis_client.delete(key, loading_key(key))


def remove_if_cached(key: str, *members: str) -> None:
    pipe = redis_client.pipeline(transaction=True)
    pipe.srem(key, *members)
    pipe.delete(loading_key(key))
    pipe.execute()
