"""Periodic jobs run one at a time: a second run while one holds the job's lock is skipped
(two beats, a beat catching up while the last run is still going)."""

from __future__ import annotations

from app.locks import JobLock


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
