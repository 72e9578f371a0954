"""Celery jobs of the media package, on the ``media`` queue.

``process_media`` acknowledges late (a killed worker's job is delivered again; the broker's
visibility timeout is above the job's hard limit) and is idempotent. It retries only when
storage fails in a way that may pass; a bad file ends as a failed media, never a retry.
Celery's own time limits do not work in the embedded thread pool, so the hard limit is
enforced on the ffmpeg child (``MEDIA_TRANSCODE_TIMEOUT``). A delivery that finds the job's
lock held (``app.locks``: short-lived, renewed while the job runs) looks again later.
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from media import service
from media.storage import TransientStorageError
from media.transcode import Interrupted

log = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(bind=True, name="media.tasks.process_media", queue="media", acks_late=True,
             reject_on_worker_lost=True, max_retries=MAX_RETRIES, ignore_result=True)
def process_media(self, media_id: str) -> str:
    try:
        status = service.process(media_id)
        if status == "busy" and not self.request.is_eager:
            # another delivery holds the job's lock: the job itself, or a killed worker whose
            # lock expires within ``MEDIA_JOB_LOCK_SECONDS``. Look again once it would have
            # (a finished job makes the new message a no-op).
            try:
                process_media.apply_async(args=[media_id], queue="media",
                                          countdown=service.job_lock_seconds())
            except Exception as exc:  # broker away: the re-queue sweep still finds the media
                log.error("could not queue media %s again: %s", media_id, exc)
        return status
    except (TransientStorageError, Interrupted) as exc:
        if self.request.retries >= MAX_RETRIES:
            code = "storage_unavailable" if isinstance(exc, TransientStorageError) else "transcode_failed"
            service.give_up(media_id, code, f"kept failing: {exc}")
            return "failed"
        countdown = min(300, 10 * 2 ** self.request.retries)
        _waiting_for_retry(media_id, countdown + service.job_lock_seconds())
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception as exc:  # a bug must not leave the media processing forever
        log.exception("processing media %s failed", media_id)
        service.give_up(media_id, "transcode_failed", f"processing failed: {type(exc).__name__}")
        return "failed"


def _waiting_for_retry(media_id: str, seconds: int) -> None:
    """Tell the lost-job sweep that this media's job is coming back by itself."""
    redis = current_app.extensions.get("redis")
    if redis is not None:
        try:
            redis.set(service.retry_key(media_id), 1, ex=seconds)
        except Exception:  # Redis away: the sweep may queue it once more, which is harmless
            log.warning("could not mark media %s as waiting for its retry", media_id)


@shared_task(name="media.tasks.expire_uploads", queue="media", ignore_result=True)
def expire_uploads() -> int:
    return service.expire_uploads()


@shared_task(name="media.tasks.delete_account_media", queue="media", acks_late=True,
             ignore_result=True)
def delete_account_media(account_id: str) -> int:
    return service.delete_account_media(account_id)


@shared_task(name="media.tasks.requeue_stuck", queue="media", ignore_result=True)
def requeue_stuck() -> int:
    return service.requeue_stuck()


@shared_task(name="media.tasks.purge_deleted", queue="media", ignore_result=True)
def purge_deleted() -> int:
    """Remove the files of deleted media (queued at each delete, and periodically)."""
    return service.purge_deleted()


@shared_task(name="media.tasks.purge_strays", queue="media", ignore_result=True)
def purge_strays() -> int:
    """Remove stored folders of media that no longer exist (hourly)."""
    return service.purge_strays()
