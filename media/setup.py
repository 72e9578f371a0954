"""Media's setup: the ``/media-files`` route, the storage health check, the receivers that
remove a deleted account's media and stop transcodes with their worker, and the periodic
jobs (abandoned uploads, lost jobs, deleted media, stray folders)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app import health, signals
from app.jobs import enqueue
from media import service
from media.files import files_bp
from media.transcode import interrupt_all


def _on_account_deleted(account: Any, **_: Any) -> None:
    try:
        enqueue("media.tasks.delete_account_media", str(account.id), queue="media")
    except Exception:  # no broker: do it now
        service.delete_account_media(account.id)


def _storage_health() -> dict:
    """Reachable storage: one read of a probe key (a HEAD on S3)."""
    store = service.storage()
    store.exists("healthz/probe")
    bucket = getattr(store, "bucket", None)
    return {"backend": f"s3://{bucket}" if bucket else f"local:{getattr(store, 'root', '')}"}


def _on_worker_stopping(_sender: object) -> None:
    """The worker is stopping: running transcodes end now and come back as retries."""
    interrupt_all()


def init_app(app: Flask) -> None:
    """Serve stored files, clean up after deleted accounts and media, expire abandoned
    uploads."""
    app.register_blueprint(files_bp)
    health.register(app, "storage", _storage_health)
    signals.account_deleted.connect(_on_account_deleted, weak=False)
    signals.worker_stopping.connect(_on_worker_stopping, weak=False)
    celery = app.extensions.get("celery")
    if celery is not None:
        celery.conf.beat_schedule["media-expire-uploads"] = {
            "task": "media.tasks.expire_uploads", "schedule": 600.0}
        celery.conf.beat_schedule["media-requeue-stuck"] = {
            "task": "media.tasks.requeue_stuck",
            "schedule": float(app.config["MEDIA_REQUEUE_SECONDS"])}
        celery.conf.beat_schedule["media-purge-strays"] = {
            "task": "media.tasks.purge_strays", "schedule": 3600.0}
        celery.conf.beat_schedule["media-purge-deleted"] = {
            "task": "media.tasks.purge_deleted",
            "schedule": float(app.config["MEDIA_PURGE_SECONDS"])}
