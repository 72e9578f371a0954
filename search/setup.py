"""Search's setup: the receivers that mark changed posts and accounts dirty and queue their
index jobs, the catch-up sweep's schedule, ``flask search``, the health check, and the
embedded server's index rebuilt from its store at start."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from app import health, signals
from app.jobs import enqueue
from search import indexing
from search.backend import get_engine
from search.cli import search_cli

log = logging.getLogger(__name__)

#: How often the catch-up sweep runs (seconds); ``SEARCH_SWEEP_SECONDS`` overrides it.
SWEEP_SECONDS = 300


def _queue(task_name: str, key: str, doc_id: str, gone: bool = False) -> None:
    """Mark the document dirty, then queue its job; never break the caller's request."""
    try:
        indexing.mark(key, gone=gone)
    except Exception:  # Redis down: the sweep's watermark still catches posts
        log.exception("search: could not mark %s dirty", key)
    try:
        enqueue(task_name, doc_id)
    except Exception:  # broker down: the dirty mark makes the sweep do it
        log.exception("search: could not queue %s for %s", task_name, key)


def _post_saved(post: Any, **_: Any) -> None:
    _queue("search.tasks.index_post", f"post:{post.id}", str(post.id))


def _post_deleted(post: Any, **_: Any) -> None:
    _queue("search.tasks.delete_post", f"post:{post.id}", str(post.id), gone=True)


def _account_changed(account: Any, **_: Any) -> None:
    if getattr(account, "kind", None) == "fan":
        return  # fans are never indexed
    _queue("search.tasks.index_account", f"account:{account.id}", str(account.id))


def _account_deleted(account: Any, **_: Any) -> None:
    if getattr(account, "kind", None) == "fan":
        return
    _queue("search.tasks.delete_account", f"account:{account.id}", str(account.id), gone=True)


def _moderation_decided(item: Any, **_: Any) -> None:
    target_type, target_id = getattr(item, "target_type", None), getattr(item, "target_id", None)
    if not target_id:
        return
    if target_type == "post":
        _queue("search.tasks.index_post", f"post:{target_id}", str(target_id))
    elif target_type == "account":
        _queue("search.tasks.index_account", f"account:{target_id}", str(target_id))


def _health() -> dict[str, Any]:
    engine = get_engine()
    if not engine.ping():
        raise RuntimeError(f"{engine.name} search engine is not answering")
    return {"backend": engine.name, "documents": engine.count()}


def init_app(app: Flask) -> None:
    """Connect the signal receivers, the sweep schedule, ``flask search`` and the health check."""
    signals.post_saved.connect(_post_saved, weak=False)
    signals.post_deleted.connect(_post_deleted, weak=False)
    signals.account_changed.connect(_account_changed, weak=False)
    signals.account_deleted.connect(_account_deleted, weak=False)
    signals.moderation_decided.connect(_moderation_decided, weak=False)
    app.cli.add_command(search_cli)
    health.register(app, "search", _health)
    celery = app.extensions.get("celery")
    if celery is not None:
        celery.conf.beat_schedule["search-sweep"] = {
            "task": "search.tasks.sweep",
            "schedule": float(app.config.get("SEARCH_SWEEP_SECONDS", SWEEP_SECONDS)),
        }
    if (app.config.get("MONGO_BACKEND") == "mongomock" and app.config.get("EMBEDDED_WORKER")
            and not app.config.get("ELASTICSEARCH_URL")):
        # The embedded server's index follows its store, which starts as the last run left it
        # (app/snapshots.py) or empty: rebuilt from it, searches find exactly what exists.
        # (Not for CLI apps: they would rebuild the index of a server running next to them.)
        with app.app_context():
            indexing.reindex()
