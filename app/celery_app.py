"""The Celery app: Redis broker, one queue per kind of work, every task in app context.

Queues: ``media`` (slow transcodes), ``fanout`` and ``search``, so a long transcode never
delays a fan-out. Tasks acknowledge late and are idempotent: a killed worker's job runs again.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import Celery, Task
from celery.beat import EmbeddedService
from flask import Flask

from app.joblock import JobLock

log = logging.getLogger(__name__)

TASK_MODULES = ["feed.tasks", "media.tasks", "search.tasks", "moderation.tasks"]
QUEUES = ["celery", "fanout", "media", "search"]
PERIODIC_LOCK_SECONDS = 30  # a killed worker's periodic job is free to run again this soon


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                if self.name in periodic_tasks(self.app):
                    return run_alone(self, app, args, kwargs)
                return self.run(*args, **kwargs)

    url = app.config["CELERY_BROKER_URL"]
    celery = Celery(app.import_name, task_cls=FlaskTask, include=TASK_MODULES)
    celery.conf.update(
        broker_url=url,
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # must exceed the longest job's hard limit (transcodes), or Redis redelivers it early
        broker_transport_options={"visibility_timeout": 2 * 3600},
        broker_connection_retry_on_startup=True,
        task_routes={
            "feed.tasks.fanout_*": {"queue": "fanout"},
            "media.tasks.*": {"queue": "media"},
            "search.tasks.*": {"queue": "search"},
        },
        beat_schedule={},  # packages add their periodic jobs in init_app
        beat_schedule_filename=os.path.join(app.config["VAR_DIR"], "celerybeat-schedule"),
        worker_hijack_root_logger=False,
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def periodic_tasks(celery: Celery) -> set[str]:
    """The names of the tasks beat runs (the packages' ``beat_schedule`` entries)."""
    return {entry["task"] for entry in celery.conf.beat_schedule.values()}


def run_alone(task: Task, app: Flask, args: tuple, kwargs: dict) -> object:
    """Run a periodic job unless another run of it holds its lock (two beats, a beat that
    catches up while the last run is still going, a manual run): that one is skipped.

    The lock (``app.joblock``) is renewed while the job runs and lapses within
    ``PERIODIC_LOCK_SECONDS`` of a killed worker's death, so a crash never blocks the job.
    """
    redis = app.extensions.get("redis")
    if redis is None:
        return task.run(*args, **kwargs)
    lock = JobLock(redis, f"periodic:{task.name}", PERIODIC_LOCK_SECONDS)
    if not lock.acquire():
        log.info("periodic job %s skipped: another run holds its lock", task.name)
        return None
    log.info("periodic job %s started", task.name)
    started = time.monotonic()
    try:
        return task.run(*args, **kwargs)
    finally:
        lock.release()
        log.info("periodic job %s finished in %.3f s", task.name, time.monotonic() - started)


class EmbeddedWorker:
    """A Celery worker on a thread pool inside this process (the embedded default).

    It also runs the beat scheduler, so periodic jobs (view flushes, the search sweep) run
    without a separate process. A worker that stops by itself is started again: when Redis
    goes away while jobs are unacknowledged, kombu's channel close can fail with an error
    Celery calls unrecoverable, and the worker would otherwise stop consuming for good (a
    standalone ``celery worker`` exits then; run it under a supervisor that restarts it).
    """

    def __init__(self, celery: Celery, concurrency: int) -> None:
        os.makedirs(os.path.dirname(celery.conf.beat_schedule_filename), exist_ok=True)
        self.celery, self.concurrency = celery, concurrency
        self.controller = self._controller()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="celery", daemon=True)
        self.beat = EmbeddedService(celery, thread=True,
                                    schedule_filename=celery.conf.beat_schedule_filename)

    def _controller(self):
        return self.celery.WorkController(
            concurrency=self.concurrency,
            pool_cls="threads",
            queues=QUEUES,
            loglevel="WARNING",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname=f"embedded-{id(self)}@localhost",
        )

    def _run(self) -> None:
        while True:
            self.controller.start()  # returns when stopped, on request or by an error
            if self.stopping.wait(1.0):
                return
            log.warning("the embedded worker stopped by itself; starting a new one")
            self.controller = self._controller()

    def start(self) -> EmbeddedWorker:
        self.thread.start()
        self.beat.start()
        return self

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.stopping.set()
        self.beat.stop()
        self.controller.stop(in_sighandler=False)
        self.thread.join(10)
