"""Keeping the index in step with MongoDB: the service the jobs, the sweep and the CLI call.

Nothing is lost when the engine is down:

- every change is first marked *dirty* in Redis (a sorted set scored by when it was marked)
  by the signal receivers, before a job is queued; a job clears the mark only if nothing
  newer marked the same document while it ran;
- the periodic sweep re-indexes whatever is still marked, plus posts created or edited since
  its last successful run (a watermark in Redis, advanced only when a sweep succeeds);
- a rebuild (``flask search reindex``) records what changed while it ran and replays those
  changes into the new index after the swap;
- deleted posts and accounts leave a short-lived tombstone, so a job that read a post just
  before it was deleted cannot put it back.

Every function here is idempotent: running it twice leaves the same index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from mongoengine.queryset.visitor import Q

from app.accounts.models import Account
from app.extensions import redis_client
from app.iterables import batched
from app.locks import hold
from feed.models import Post
from search.backend import get_engine
from search.documents import INDEXED_AUTHOR_KINDS, account_document, post_document
from search.engine import Progress, SearchUnavailable

log = logging.getLogger(__name__)

# The queue's keys share one Redis Cluster slot ({search}): a mark is one transaction.
DIRTY = "{search}:dirty"  # zset: "post:<id>" / "account:<id>" -> when marked (epoch seconds)
WATERMARK = "{search}:sweep:last"  # epoch seconds of the last successful sweep's start
SWEEP_LOCK = "{search}:sweep:lock"
SWEEP_LOCK_SECONDS = 600  # a sweep killed midway leaves its lock this long at most
REINDEXING = "{search}:reindexing"  # set while a rebuild runs
TOUCHED = "{search}:reindex:touched"  # set: keys changed while a rebuild ran
TOMBSTONE = "{{search}}:gone:{}"  # "post:<id>" / "account:<id>", kept a day
TOMBSTONE_SECONDS = 24 * 3600
SWEEP_SLACK_SECONDS = 120  # re-read a little before the watermark (clock skew, slow writes)
BATCH = 500
LOCK = "search:lock:author:{}"
LOCK_SECONDS = 120  # longer than any one author's write; a dead worker's lock expires
RELEASE_RETRY_SECONDS = 10  # above a cluster failover (a few seconds)

_CLEAR_IF_NOT_NEWER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


# --- dirty marks ------------------------------------------------------------------------


def mark(key: str, gone: bool = False) -> None:
    """Record that a document changed (before its job is queued, so an outage loses nothing)."""
    pipe = redis_client.pipeline(transaction=True)
    pipe.zadd(DIRTY, {key: time.time()})
    if gone:
        pipe.set(TOMBSTONE.format(key), "1", ex=TOMBSTONE_SECONDS)
    pipe.exists(REINDEXING)
    *_, reindexing = pipe.execute()
    if reindexing:
        redis_client.sadd(TOUCHED, key)


def clear(key: str, started: float) -> None:
    """Drop the dirty mark unless the document was marked again after ``started``."""
    redis_client.eval(_CLEAR_IF_NOT_NEWER, 1, DIRTY, key, repr(started))


def dirty_keys() -> list[str]:
    return [key for key, _ in redis_client.zscan_iter(DIRTY)]


def _gone(key: str) -> bool:
    return bool(redis_client.exists(TOMBSTONE.format(key)))


# --- one writer per author at a time ------------------------------------------------------


@contextmanager
def author_lock(author_id: str, wait_seconds: float = 60.0) -> Iterator[None]:
    """Serialize the index writes about one author's account and posts.

    Two jobs for the same post or account (a suspension and the reinstatement right after,
    an edit and a removal) could otherwise read in one order and write in the other, leaving
    the older state in the index. Each job reads MongoDB inside the lock, so the last
    writer always wrote the latest state. Through a Redis restart or a cluster failover the
    release is retried for a few seconds: a lock left behind would keep every other index
    job of the author (and the worker threads running them) waiting until it expires.
    """
    with hold(redis_client, LOCK.format(author_id), LOCK_SECONDS, wait_seconds,
              release_retry_seconds=RELEASE_RETRY_SECONDS) as held:
        if not held.acquired:
            raise SearchUnavailable(f"search writes for author {author_id} are stuck")
        yield


# --- loading documents -------------------------------------------------------------------


def _posts(ids: list[str]) -> dict[str, Any]:
    valid = [i for i in ids if ObjectId.is_valid(i)]
    return {str(p.id): p for p in Post.objects(id__in=valid)} if valid else {}


def _accounts(ids: Iterable[str]) -> dict[str, Any]:
    valid = [str(i) for i in ids if ObjectId.is_valid(str(i))]
    return {str(a.id): a for a in Account.objects(id__in=valid)} if valid else {}


def post_documents(posts: list[Any], authors: dict[str, Any] | None = None
                   ) -> list[tuple[str, dict[str, Any] | None]]:
    """(post id, document or None) for each post, authors loaded in one query."""
    if authors is None:
        authors = _accounts({str(p.author) for p in posts})
    return [(str(p.id), post_document(p, authors.get(str(p.author)))) for p in posts]


# --- writing -------------------------------------------------------------------------------


def sync_posts(post_ids: Iterable[str]) -> None:
    """Make the index agree with MongoDB for these posts (index, replace or delete).

    The authors' account documents are refreshed in the same write, so a merchant or
    influencer is searchable from their first post on.
    """
    ids = [str(i) for i in post_ids]
    if not ids:
        return
    engine = get_engine()
    posts = _posts(ids)
    found = [posts[i] for i in ids if i in posts]
    authors = _accounts({str(p.author) for p in found})
    docs, stale = [], []
    for post_id, doc in post_documents(found, authors):
        if doc is None or _gone(f"post:{post_id}"):
            stale.append(post_id)
        else:
            docs.append(doc)
    stale += [i for i in ids if i not in posts]
    written_authors = {doc["author_id"] for doc in docs}
    account_docs = [account_document(authors[a]) for a in sorted(written_authors)
                    if not _gone(f"account:{a}")]
    if docs:
        engine.index(docs + [d for d in account_docs if d is not None])
    if stale:
        engine.delete("post", stale)
    # a post deleted while we were writing it must not stay in the index
    late = [doc["id"] for doc in docs if _gone(f"post:{doc['id']}")]
    if late:
        engine.delete("post", late)


def _post_authors(ids: list[str]) -> dict[str, list[str]]:
    """Post ids grouped by author id (posts that no longer exist are left out)."""
    valid = [i for i in ids if ObjectId.is_valid(i)]
    groups: dict[str, list[str]] = {}
    for post in Post.objects(id__in=valid).only("id", "author") if valid else ():
        groups.setdefault(str(post.author), []).append(str(post.id))
    return groups


def sync_posts_locked(post_ids: Iterable[str]) -> None:
    """:func:`sync_posts` under each author's lock (jobs and the sweep use this)."""
    ids = [str(i) for i in post_ids]
    groups = _post_authors(ids)
    known = {i for group in groups.values() for i in group}
    missing = [i for i in ids if i not in known]
    if missing:
        get_engine().delete("post", missing)  # deleted: a tombstone guards late writers
    for author_id, group in groups.items():
        with author_lock(author_id):
            sync_posts(group)


def sync_post(post_id: str) -> None:
    started = time.time()
    sync_posts_locked([str(post_id)])
    clear(f"post:{post_id}", started)


def delete_post(post_id: str) -> None:
    started = time.time()
    get_engine().delete("post", [str(post_id)])
    clear(f"post:{post_id}", started)


def _author_post_ids(account_id: str) -> Iterator[list[str]]:
    posts = Post.objects(author=account_id, status="published").only("id")
    yield from batched((str(post.id) for post in posts), BATCH)


def sync_account(account_id: str) -> None:
    """Index an account and its posts, or remove both (fan, suspended, deleted)."""
    account_id = str(account_id)
    started = time.time()
    engine = get_engine()
    with author_lock(account_id):
        account = _accounts([account_id]).get(account_id)
        if account is not None and account.kind not in INDEXED_AUTHOR_KINDS:
            clear(f"account:{account_id}", started)  # fans are never indexed
            return
        doc = None if account is None or _gone(f"account:{account_id}") else account_document(
            account)
        if doc is None:
            engine.delete("account", [account_id])
            engine.delete_author_posts(account_id)
        else:
            engine.index([doc])
            for ids in _author_post_ids(account_id):  # author names and visibility live on posts
                sync_posts(ids)
    clear(f"account:{account_id}", started)


def delete_account(account_id: str) -> None:
    started = time.time()
    engine = get_engine()
    with author_lock(str(account_id)):
        engine.delete("account", [str(account_id)])
        engine.delete_author_posts(str(account_id))
    clear(f"account:{account_id}", started)


def sync_key(key: str) -> None:
    """Bring one ``post:<id>`` or ``account:<id>`` up to date."""
    kind, _, doc_id = key.partition(":")
    if kind == "post":
        sync_post(doc_id)
    elif kind == "account":
        sync_account(doc_id)
    else:
        redis_client.zrem(DIRTY, key)


# --- the sweep -------------------------------------------------------------------------------


def sweep() -> dict[str, int]:
    """Re-index what is still dirty and what changed since the last successful sweep.

    Runs one at a time (a Redis lock); an engine failure leaves the watermark where it was,
    so the next sweep retries everything this one could not finish.
    """
    with hold(redis_client, SWEEP_LOCK, SWEEP_LOCK_SECONDS, wait=0) as held:
        if not held.acquired:
            return {"skipped": 1}
        started = time.time()
        keys = dirty_keys()
        for key in keys:
            sync_key(key)
        since = float(redis_client.get(WATERMARK) or 0) - SWEEP_SLACK_SECONDS
        changed = 0
        after = datetime.fromtimestamp(max(since, 0), UTC)
        for account_id in _new_account_ids(after):
            sync_account(account_id)
            changed += 1
        for ids in _changed_post_ids(after):
            sync_posts_locked(ids)
            changed += len(ids)
        redis_client.set(WATERMARK, repr(started))
        return {"dirty": len(keys), "changed": changed}


def _new_account_ids(since: datetime) -> list[str]:
    naive = since.replace(tzinfo=None)
    return [str(a.id) for a in Account.objects(created_at__gte=naive,
                                               kind__in=list(INDEXED_AUTHOR_KINDS)).only("id")]


def _changed_post_ids(since: datetime) -> Iterator[list[str]]:
    naive = since.replace(tzinfo=None)  # stored datetimes are naive UTC
    posts = Post.objects(Q(created_at__gte=naive) | Q(edited_at__gte=naive)).only("id")
    yield from batched((str(post.id) for post in posts), BATCH)


# --- full rebuild ----------------------------------------------------------------------------


def count_sources() -> int:
    """How many posts and accounts a rebuild will read (for the progress bar)."""
    return (Post.objects(status="published", author_kind__in=list(INDEXED_AUTHOR_KINDS)).count()
            + Account.objects(kind__in=list(INDEXED_AUTHOR_KINDS), suspended__ne=True).count())


def iter_documents(progress: Progress | None = None) -> Iterator[dict[str, Any]]:
    """Every indexable document from MongoDB, read in batches.

    ``progress`` is told about every source read, indexed or not, so it matches
    :func:`count_sources`.
    """
    accounts = Account.objects(kind__in=list(INDEXED_AUTHOR_KINDS), suspended__ne=True)
    for account in accounts.no_cache().batch_size(BATCH):
        doc = account_document(account)
        if progress:
            progress(1)
        if doc is not None:
            yield doc
    posts = Post.objects(status="published", author_kind__in=list(INDEXED_AUTHOR_KINDS))
    for batch in batched(posts.no_cache().batch_size(BATCH), BATCH):
        yield from _documents_of(batch, progress)


def _documents_of(posts: list[Any], progress: Progress | None) -> Iterator[dict[str, Any]]:
    for _, doc in post_documents(posts):
        if doc is not None:
            yield doc
    if progress:
        progress(len(posts))


def reindex(progress: Progress | None = None) -> int:
    """Rebuild the index from MongoDB with no downtime, then replay changes made meanwhile."""
    started = time.time()
    redis_client.delete(TOUCHED)
    redis_client.set(REINDEXING, "1", ex=12 * 3600)
    try:
        written = get_engine().recreate(iter_documents(progress))
    finally:
        redis_client.delete(REINDEXING)
    for key in redis_client.smembers(TOUCHED):
        sync_key(key)
    redis_client.delete(TOUCHED)
    redis_client.set(WATERMARK, repr(started))  # the sweep need not look further back
    return written

