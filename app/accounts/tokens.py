"""Bearer tokens: random, stored only as hashes, expiring, resolved through Redis.

Redis holds ``tok:<sha256>`` -> ``<account_id>`` (TTL bounded by the token's expiry) and
``acct-tokens:<account_id>``, the set of an account's token hashes, so revoking one token or
all of an account's tokens deletes the cache entries at once. A cache miss is one indexed
MongoDB lookup by hash, never a scan.

A page session (``/login``) gets a *page token*: the same kind of record, but its raw value
starts with ``page.`` (``app.auth.PAGE_PREFIX``), and only the session cookie may carry it
(``app.auth``): the cookie is signed, not encrypted, so whoever reads it must find nothing
that works as a bearer token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from bson import ObjectId
from flask import current_app

from app import live
from app.accounts.models import Token
from app.auth import PAGE_PREFIX
from app.extensions import redis_client
from app.times import as_utc, utcnow


def hash_of(raw: str) -> str:
    """What is stored and cached for a token, and names the live sockets opened with it."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _cache(token_hash: str, account_id: str, ttl: int) -> None:
    ttl = max(1, min(ttl, current_app.config["TOKEN_CACHE_SECONDS"]))
    # two slots on a cluster: not atomic, nor need it be (revoke_all also reads MongoDB)
    pipe = redis_client.pipeline(transaction=False)
    pipe.set(f"tok:{token_hash}", account_id, ex=ttl)
    pipe.sadd(f"acct-tokens:{account_id}", token_hash)
    pipe.execute()


def issue(account_id: object, page: bool = False) -> str:
    """A new token for the account; only its hash is stored. The token starts with the
    account's id, so the account can be read together with the token (``claimed_id``).
    ``page``: a page session's token, refused as a bearer token (``app.auth.is_page``)."""
    raw = f"{PAGE_PREFIX if page else ''}{account_id}.{secrets.token_urlsafe(32)}"
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    Token(token_hash=hash_of(raw), account=account_id, expires_at=utcnow() + timedelta(seconds=ttl)).save()
    _cache(hash_of(raw), str(account_id), ttl)
    return raw


def claimed_id(raw: str) -> str | None:
    """The account id a token names, before it is checked (``resolve`` checks it)."""
    head, dot, _ = raw.removeprefix(PAGE_PREFIX).partition(".")
    return head if dot and ObjectId.is_valid(head) else None


def cache_key(raw: str) -> str:
    return f"tok:{hash_of(raw)}"


_UNREAD = object()


def resolve(raw: str, cached: str | None | object = _UNREAD) -> str | None:
    """The account id a token belongs to, or None if unknown, revoked or expired.

    ``cached`` is the token's cache entry (``cache_key``; None if missing) when the caller
    has already read it.
    """
    if not raw or len(raw) > 200:
        return None
    token_hash = hash_of(raw)
    account_id = redis_client.get(f"tok:{token_hash}") if cached is _UNREAD else cached
    if account_id:
        return account_id
    token = Token.objects(token_hash=token_hash).first()
    if token is None:
        return None
    remaining = int((as_utc(token.expires_at) - utcnow()).total_seconds())
    if remaining <= 0:
        token.delete()
        return None
    _cache(token_hash, str(token.account), remaining)
    return str(token.account)


def cached_for(raw: str) -> float:
    """Seconds until ``resolve`` must look the token up again (0 if not cached). The cache
    entry never outlives the token, so a live socket re-checks its token then."""
    ms = redis_client.pttl(f"tok:{hash_of(raw)}")
    return ms / 1000 if ms > 0 else 0.0


def revoke(raw: str) -> None:
    token_hash = hash_of(raw)
    Token.objects(token_hash=token_hash).delete()
    redis_client.delete(f"tok:{token_hash}")
    _close_sockets([token_hash])


def _close_sockets(hashes: list[str], account_id: object | None = None,
                   keep_hash: str | None = None) -> None:
    """Live sockets opened with a revoked token close too, in whichever process holds them."""
    live.tokens_revoked(hashes, account_id=account_id, keep_hash=keep_hash)


def revoke_all(account_id: object, keep: str | None = None) -> None:
    """Revoke every token of the account, except ``keep`` (a raw token) if given."""
    keep_hash = hash_of(keep) if keep else None
    query = Token.objects(account=account_id)
    if keep_hash:
        query = query.filter(token_hash__ne=keep_hash)
    hashes = {t.token_hash for t in query.only("token_hash")}
    hashes |= set(redis_client.smembers(f"acct-tokens:{account_id}"))
    hashes.discard(keep_hash)
    query.delete()
    if hashes:
        redis_client.delete(*[f"tok:{h}" for h in hashes])  # per slot on a cluster
        redis_client.srem(f"acct-tokens:{account_id}", *hashes)
    _close_sockets(sorted(hashes), account_id=account_id, keep_hash=keep_hash)
