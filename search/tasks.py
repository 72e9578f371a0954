"""Celery jobs of the search package (queue ``search``); each is idempotent.

A job that finds the engine down retries with backoff; if it never succeeds, the document
stays marked dirty and the periodic :func:`sweep` indexes it once the engine is back.
"""

from __future__ import annotations

from celery import shared_task

from search import indexing
from search.engine import SearchUnavailable

_RETRY = {
    "autoretry_for": (SearchUnavailable,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="search.tasks.index_post", **_RETRY)
def index_post(post_id: str) -> None:
    """Index, replace or remove one post to match MongoDB."""
    indexing.sync_post(post_id)


@shared_task(name="search.tasks.delete_post", **_RETRY)
def delete_post(post_id: str) -> None:
    indexing.delete_post(post_id)


@shared_task(name="search.tasks.index_account", **_RETRY)
def index_account(account_id: str) -> None:
    """Index an account and its posts, or remove both (suspended, deleted)."""
    indexing.sync_account(account_id)


@shared_task(name="search.tasks.delete_account", **_RETRY)
def delete_account(account_id: str) -> None:
    indexing.delete_account(account_id)


@shared_task(name="search.tasks.sweep")
def sweep() -> dict[str, int]:
    """Periodic catch-up: whatever is still dirty or changed since the last sweep."""
    try:
        return indexing.sweep()
    except SearchUnavailable:
        return {"unavailable": 1}  # the watermark did not move; the next sweep retries
