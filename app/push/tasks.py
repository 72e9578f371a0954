"""Celery jobs of push. A device's job retries with backoff on a provider's transient
errors (throttling, 5xx, network); the others are idempotent (``push_post`` runs once)."""

from celery import shared_task

from app.push import service
from app.push.providers import Transient


@shared_task(name="app.push.tasks.deliver", acks_late=True, autoretry_for=(Transient,),
             retry_backoff=2, retry_backoff_max=300, retry_jitter=True, max_retries=8,
             ignore_result=True)
def deliver(device_id: str, message: dict) -> str:
    return service.deliver(device_id, message)


@shared_task(name="app.push.tasks.push_post", acks_late=True, ignore_result=True)
def push_post(post_id: str) -> int:
    return service.push_post(post_id)


@shared_task(name="app.push.tasks.push_batch", acks_late=True, ignore_result=True)
def push_batch(post_id: str, account_ids: list[str]) -> int:
    return service.push_batch(post_id, account_ids)
