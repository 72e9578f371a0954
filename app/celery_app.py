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
from celery.signals import worker_shutting_down
from celery.worker import state
from flask import Flask

from app import signals
from app.locks import JobLock

log = logging.getLogger(__name__)

TASK_MODULES = ["feed.tasks", "media.tasks", "search.tasks",
                "app.push.tasks"]
QUEUES = ["celery", "fanout", "media", "search"]
PERIODIC_LOCK_SECONDS = 30  # a killed worker's periodic job is free to run again this soon
STOP_SECONDS = 2.5  # a stopping worker waits this long for its running jobs, then hands them back


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
    bound_warm_shutdown(celery)  # only a standalone `celery worker` sends the signal
    return celery


def periodic_tasks(celery: Celery) -> set[str]:
    """The names of the tasks beat runs (the packages' ``beat_schedule`` entries)."""
    return {entry["task"] for entry in celery.conf.beat_schedule.values()}


def run_alone(task: Task, app: Flask, args: tuple, kwargs: dict) -> object:
    """Run a periodic job unless another run of it holds its lock (two beats, a beat that
    catches up while the last run is still going, a manual run): that one is skipped.

    The lock (``app.locks``) is renewed while the job runs and lapses within
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
    finally:  # said before the lock goes, so the log never shows two runs at once
        log.info("periodic job %s finished in %.3f s", task.name, time.monotonic() - started)
        lock.release()


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
        self._stop_lock = threading.Lock()
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

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop taking jobs; the jobs in hand finish within ``timeout`` seconds or go back to
        their queues (they are idempotent: the next start runs them again). Idempotent."""
        with self._stop_lock:  # a second caller waits for the first one's stop
            if self.stopping.is_set():
                return
            self.stopping.set()
            self.beat.stop()
            stopper = threading.Thread(target=self.controller.stop, kwargs={"in_sighandler": False},
                                       name="celery-stop", daemon=True)
            stopper.start()
            stopper.join(timeout * 0.6)
            if stopper.is_alive():  # long jobs: interrupted, they hand themselves back
                signals.worker_stopping.send(None)
                stopper.join(timeout * 0.4)
            if stopper.is_alive():
                requeue_active()
            self.thread.join(0.5)

    def restore_unacked(self) -> int:
        """Put back in their queues the jobs a previous run of this process took and never
        finished (killed, or stopped mid-job): a private Redis has no other consumer, so
        nothing unacknowledged at start is in anyone's hands (Redis would otherwise hold
        them for the broker's visibility timeout, two hours)."""
        with self.celery.connection_for_write() as connection:
            qos = connection.default_channel.qos
            tags = connection.default_channel.client.hkeys(qos.unacked_key)
            for tag in tags:
                qos.restore_by_tag(tag)
        if tags:
            log.warning("the embedded worker put back %d unfinished jobs", len(tags))
        return len(tags)


def requeue_active() -> int:
    """Hand the jobs this process is running back to their queues (acks-late jobs not yet
    acknowledged): a stopping worker that cannot wait for them loses none of them."""
    handed = 0
    for request in list(state.active_requests):
        if not request.acknowledged:
            request.reject(requeue=True)
            handed += 1
    if handed:
        log.warning("stopping: %d running jobs handed back to their queues", handed)
    return handed


def bound_warm_shutdown(celery: Celery, seconds: float = STOP_SECONDS) -> None:
    """A standalone ``celery worker`` told to stop (SIGTERM, SIGINT) waits for its running jobs
    at most ``seconds``; then it hands them back to their queues and exits (0), instead of
    waiting for a transcode to end or being killed mid-job by its supervisor."""
    def on_shutting_down(**_kwargs) -> None:
        def bound() -> None:
            def wait(limit: float) -> None:
                deadline = time.monotonic() + limit
                while state.active_requests and time.monotonic() < deadline:
                    time.sleep(0.1)

            wait(seconds * 0.6)
            if state.active_requests:  # long jobs: interrupted, they hand themselves back
                signals.worker_stopping.send(None)
                wait(seconds * 0.4)
            if state.active_requests:
                requeue_active()
                logging.shutdown()
                os._exit(0)  # the job threads cannot be stopped; their jobs are back in the queue

        threading.Thread(target=bound, name="bounded-shutdown", daemon=True).start()

    worker_shutting_down.connect(on_shutting_down, weak=False, dispatch_uid="bound-warm-shutdown")
