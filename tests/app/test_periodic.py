"""Periodic jobs run one at a time: a second run while one holds the job's lock is skipped
(two beats, a beat catching up while the last run is still going). Every job queued by name
exists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from app.celery_app import TASK_MODULES
from app.locks import JobLock

ROOT = Path(__file__).resolve().parents[2]


def test_a_periodic_job_is_skipped_while_another_run_holds_its_lock(ctx):
    from app.celery_app import periodic_tasks
    from feed.tasks import flush_views

    assert "feed.tasks.flush_views" in periodic_tasks(ctx.extensions["celery"])
    holder = JobLock(ctx.extensions["redis"], "periodic:feed.tasks.flush_views", 10)
    assert holder.acquire()
    try:
        assert flush_views() is None  # skipped: the other run holds the lock
    finally:
        holder.release()
    assert flush_views() == 0  # ran: nothing to flush in an empty store


def test_a_job_that_is_not_periodic_is_not_locked(ctx):
    from app.celery_app import periodic_tasks

    assert "feed.tasks.fanout_post" not in periodic_tasks(ctx.extensions["celery"])


def test_every_job_queued_by_name_and_every_beat_entry_is_a_task(app):
    """Domains queue jobs by the task's name (app.jobs): a misspelt name would be queued and
    never run, so each name in the code, and each beat entry, must be a registered task."""
    celery = app.extensions["celery"]
    for module in TASK_MODULES:
        importlib.import_module(module)
    queued = set()
    for package in ("app", "feed", "media", "moderation", "search"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                name = node.args[0] if isinstance(node, ast.Call) and node.args else None
                if isinstance(name, ast.Constant) and str(name.value).count(".tasks.") == 1:
                    queued.add(name.value)  # enqueue("feed.tasks.fanout_post", ...) and the like
    scheduled = {entry["task"] for entry in celery.conf.beat_schedule.values()}
    assert len(queued) >= 13
    assert not (queued | scheduled) - set(celery.tasks), "not a task: " + ", ".join(
        sorted((queued | scheduled) - set(celery.tasks)))
