"""Who has an open socket: ``presence:{account}`` (a hash of connection id -> since).

The live server adds a connection when an account's socket connects and removes it when it
closes; a process that dies without closing leaves its entries until the key expires
(``PRESENCE_SECONDS`` after the account's latest connection). Push skips accounts that are
present: they get the live event instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from app.extensions import redis_client

log = logging.getLogger(__name__)
PRESENCE_SECONDS = 3600


def _key(account_id: object) -> str:
    return f"presence:{{{account_id}}}"


def connected(account_id: object, sid: str) -> None:
    try:
        pipe = redis_client.pipeline(transaction=False)
        pipe.hset(_key(account_id), sid, int(time.time()))
        pipe.expire(_key(account_id), PRESENCE_SECONDS)
        pipe.execute()
    except Exception as exc:  # Redis away: the socket still works; push may double it
        log.warning("presence not recorded for %s: %s", account_id, exc)


def disconnected(account_id: object, sid: str) -> None:
    try:
        redis_client.hdel(_key(account_id), sid)
    except Exception as exc:
        log.warning("presence not cleared for %s: %s", account_id, exc)


def online(account_ids: Iterable[object]) -> set[str]:
    """The accounts among ``account_ids`` with an open socket (one pipelined round trip;
    each key is read alone, so it also works on a Redis Cluster)."""
    ids = [str(a) for a in account_ids]
    if not ids:
        return set()
    pipe = redis_client.pipeline(transaction=False)
    for account_id in ids:
        pipe.hlen(_key(account_id))
    return {a for a, count in zip(ids, pipe.execute(), strict=True) if count}
