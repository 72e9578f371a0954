"""Account operations that views, pages, sockets, jobs and CLI commands share."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bson import ObjectId, json_util
from flask import current_app

from app import jsonio, live, screening, signals
from app.accounts import tokens
from app.accounts.models import Account, Profile
from app.accounts.schemas import AccountSchema
from app.api import Shown
from app.errors import ApiError
from app.extensions import redis_client
from app.redis_clients import read_many

CACHE_SECONDS = 300
_public = AccountSchema()  # what everyone sees of an account (the public cache)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_KIB"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(account: Account, password: str) -> bool:
    try:
        return _hasher().verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def username_key(username: str) -> str:
    return username.casefold()


# --- the Redis account cache: the hot path never queries MongoDB for the viewer ---------


def _cache_key(account_id: object) -> str:
    return f"acct:{account_id}"


def _public_key(account_id: object) -> str:
    return f"acct-pub:{account_id}"


def invalidate(account_id: object) -> None:
    redis_client.delete(_cache_key(account_id), _public_key(account_id))


@functools.lru_cache(maxsize=4096)
def _decode(cached: str) -> Account:
    """Documents are built once per distinct cache entry: building one costs more than
    the Redis read. The same document is then shared by the process's requests."""
    return Account._from_son(json_util.loads(cached))


def get(account_id: object) -> Account | None:
    """The account by id, from the Redis cache when warm.

    Cached accounts are shared by every request of the process: read them, never change
    them; code that changes an account works on its own copy (``_own``).
    """
    account_id = str(account_id)
    if not ObjectId.is_valid(account_id):
        return None
    cached = redis_client.get(_cache_key(account_id))
    return _decode(cached) if cached else _load(account_id)


def _load(account_id: str) -> Account | None:
    """The account from MongoDB, cached for the next reader."""
    account = Account.objects(id=account_id).first()
    if account is not None:
        redis_client.set(_cache_key(account_id), json_util.dumps(account.to_mongo()),
                         ex=CACHE_SECONDS)
    return account


def for_token(raw: str, also: Callable[[Any, str], None] | None = None
              ) -> tuple[Account | None, list]:
    """The account behind a bearer token: the token and the account are read in one
    round trip when both are cached (a token names its account, see ``tokens.issue``).

    ``also(pipeline, account_id)`` may queue reads of the named account's own keys into
    that round trip; their replies come back with the account, and only when the token
    proves to be that account's (otherwise the list is empty).
    """
    claimed = tokens.claimed_id(raw)
    if claimed is None:
        account_id = tokens.resolve(raw)
        return (get(account_id) if account_id else None), []
    pipe = redis_client.pipeline(transaction=False)
    pipe.get(tokens.cache_key(raw))
    pipe.get(_cache_key(claimed))
    if also is not None:
        also(pipe, claimed)
    entry, cached, *replies = pipe.execute()
    account_id = tokens.resolve(raw, entry)
    if account_id == claimed:
        return (_decode(cached) if cached else _load(account_id)), replies
    return (get(account_id) if account_id else None), []


def get_many(account_ids: list) -> dict[str, Account]:
    """Accounts by id (cache first, one query for the misses)."""
    ids = list(dict.fromkeys(str(i) for i in account_ids if ObjectId.is_valid(str(i))))
    if not ids:
        return {}
    found: dict[str, Account] = {}
    for account_id, cached in zip(ids, read_many(redis_client, [_cache_key(i) for i in ids])):
        if cached:
            found[account_id] = _decode(cached)
    missing = [i for i in ids if i not in found]
    if missing:
        pipe = redis_client.pipeline(transaction=False)  # one key per account
        for account in Account.objects(id__in=missing):
            found[str(account.id)] = account
            pipe.set(_cache_key(account.id), json_util.dumps(account.to_mongo()), ex=CACHE_SECONDS)
        pipe.execute()
    return found


def public_many(account_ids: Iterable) -> dict[str, dict]:
    """``{"account": <public account JSON>, "suspended": bool}`` by id: what lists of posts
    need of their authors. Cached as ready JSON, so a warm feed page builds no documents."""
    ids = list(dict.fromkeys(str(i) for i in account_ids if ObjectId.is_valid(str(i))))
    if not ids:
        return {}
    found = {account_id: jsonio.loads(cached) for account_id, cached
             in zip(ids, read_many(redis_client, [_public_key(i) for i in ids])) if cached}
    missing = [i for i in ids if i not in found]
    if missing:
        pipe = redis_client.pipeline(transaction=False)
        for account_id, account in get_many(missing).items():
            found[account_id] = {"account": _public.dump(account), "suspended": account.suspended}
            pipe.set(_public_key(account_id), jsonio.dumps(found[account_id]), ex=CACHE_SECONDS)
        pipe.execute()
    return found


def lookup(ref: str) -> Account:
    """``ref`` is an id or ``@username``; 404 if there is no such (visible) account."""
    by_name = ref.startswith("@")
    account = Account.objects(username_key=username_key(ref[1:])).first() if by_name else get(ref)
    if account is None or account.suspended:
        raise ApiError(404, "not_found", "no such account")
    return account


# --- lifecycle -----------------------------------------------------------------------


def register(data: dict[str, Any], password_hash: str | None = None) -> Account:
    """Create an account; 409 if the username is taken in any letter case."""
    key = username_key(data["username"])
    held = screening.screen(None, "profile", [data["display_name"], data.get("bio", "")])
    if Account.objects(username_key=key).first() is not None:
        raise ApiError(409, "username_taken", "that username is taken",
                       {"username": ["already taken"]})
    account = Account(
        username=data["username"],
        username_key=key,
        password_hash=password_hash or hash_password(data["password"]),
        display_name=data["display_name"],
        kind=data["kind"],
        bio=data.get("bio", ""),
        profile=Profile(**(data.get("profile") or {})),
    )
    try:
        account.save()
    except Exception as exc:  # the unique index lost a race
        if "duplicate" in str(exc).lower():
            raise ApiError(409, "username_taken", "that username is taken",
                           {"username": ["already taken"]}) from None
        raise
    signals.account_changed.send(account)  # merchants and influencers become searchable
    if held:
        signals.content_held.send(account, reasons=held)
    return account


def authenticate(username: str, password: str) -> Account:
    account = Account.objects(username_key=username_key(username)).first()
    if account is None or not check_password(account, password):
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    if account.suspended:
        raise ApiError(403, "account_suspended", "this account is suspended")
    return account


def _own(account: Account) -> Account:
    """A document of the caller's own to change: cached ones are shared (see ``get``)."""
    return Account.objects(id=account.id).first() or account


def update(account: Account, changes: dict[str, Any]) -> Account:
    if "page_layout" in changes and account.kind == "fan":
        raise ApiError(400, "validation_error", "only merchants and influencers have pages",
                       {"page_layout": ["not allowed for fans"]})
    texts = [changes[k] for k in ("display_name", "bio") if changes.get(k)]
    held = screening.screen(account, "profile", texts) if texts else []
    account = _own(account)
    for key, value in changes.items():
        if key == "profile":
            value = Profile(**value)
        setattr(account, key, value)
    account.save()
    invalidate(account.id)
    signals.account_changed.send(account)
    if held:  # shown at once; a moderator looks at it (rejecting suspends the account)
        signals.content_held.send(account, reasons=held)
    return account


def change_password(account: Account, old: str, new: str, current_token: str) -> None:
    if not check_password(account, old):
        raise ApiError(403, "invalid_credentials", "the old password is wrong",
                       {"old_password": ["wrong password"]})
    account = _own(account)
    account.password_hash = hash_password(new)
    account.save()
    invalidate(account.id)
    tokens.revoke_all(account.id, keep=current_token)


def delete(account: Account, password: str) -> None:
    """Delete the account and everything it made (the app stores require it)."""
    if not check_password(account, password):
        raise ApiError(403, "invalid_credentials", "wrong password", {"password": ["wrong password"]})
    signals.account_deleted.send(account)
    tokens.revoke_all(account.id)
    account.delete()
    invalidate(account.id)


def set_suspended(account: Account, suspended: bool) -> Account:
    """Suspension stops every token at once; reinstating lets them work again."""
    Account.objects(id=account.id).update_one(set__suspended=suspended)
    account = _own(account)
    invalidate(account.id)
    if suspended:
        live.disconnect_account(account.id)
    signals.account_changed.send(account)
    return account


def grant_role(username: str, role: str) -> Account:
    account = Account.objects(username_key=username_key(username)).first()
    if account is None:
        raise LookupError(username)
    if role not in account.roles:
        account.roles.append(role)
        account.save()
    invalidate(account.id)
    return account


def ensure_admin(username: str, password: str) -> Account:
    """The operator's admin account for the embedded default (ADMIN_USERNAME/PASSWORD)."""
    account = Account.objects(username_key=username_key(username)).first()
    if account is None:
        account = register({"username": username, "password": password,
                            "display_name": username, "kind": "fan"})
    return grant_role(username, "admin")


# --- output --------------------------------------------------------------------------


class Seen(Shown):
    """An account as one viewer sees it, for ``AccountSchema``: ``following`` when another
    signed-in account looks (the caller knows the follow graph), and the owner's own fields
    (``private``) when the owner does."""

    def __init__(self, account: Account, *, following: bool | None = None,
                 private: bool = False) -> None:
        added: dict[str, Any] = {"private": private}
        if following is not None:
            added["following"] = following
        if private:
            added["profile"] = account.profile or Profile()
        super().__init__(account, **added)

