"""Queueing a job by its task's name.

Domains ask for work here instead of importing the task modules: those are job wiring (the
delivery layer) and import the domains they run. Celery routes a name to its queue
(``celery_app``'s ``task_routes``) exactly as it routes the task object.
"""

from __future__ import annotations

from typing import Any

from app.extensions import celery


def enqueue(name: str, *args: Any, **options: Any) -> None:
    """Queue the task ``name`` with ``args``; ``options`` are Celery's (``countdown``,
    ``queue``, ``producer``, ...)."""
    celery.send_task(name, args=args, **options)


def producer():
    """One broker connection for many ``enqueue(..., producer=p)`` calls in a row."""
    return celery.producer_or_acquire()
