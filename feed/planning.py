"""When planned posts go out: the schedule of due posts and the checks of ``publish_at``.

A scheduled post's id sits in the sorted set ``posts:due`` scored by its ``publish_at`` (ms).
Beat asks the worker every second to take what is due (``feed.tasks.publish_due``); taking
an id is a ZREM, so one worker takes it, and the publication itself is a conditional MongoDB
update (``status: scheduled`` to its next status), so a job run twice publishes once. A
sweep of MongoDB every ``SCHEDULE_SWEEP_SECONDS`` puts back what Redis lost and publishes
what a killed worker took but never published.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.errors import ApiError
from app.extensions import redis_client
from app.times import as_utc, utcnow
from feed import cache

DUE_KEY = "posts:due"
MAX_AHEAD = timedelta(days=90)


def check_publish_at(value: datetime, now: datetime | None = None) -> datetime:
    """``publish_at`` must be in the future and at most 90 days ahead (400 otherwise)."""
    now = now or utcnow()
    value = as_utc(value)
    if value <= now:
        raise ApiError(400, "validation_error", "publish_at must be in the future",
                       {"publish_at": ["must be in the future"]})
    if value > now + MAX_AHEAD:
        raise ApiError(400, "validation_error", "publish_at is at most 90 days ahead",
                       {"publish_at": ["at most 90 days ahead"]})
    return value


def schedule(post_id: object, at: datetime) -> None:
    redis_client.zadd(DUE_KEY, {str(post_id): cache.score(at)})


def unschedule(post_id: object) -> None:
    redis_client.zrem(DUE_KEY, str(post_id))


def take_due(now: datetime | None = None, limit: int = 500) -> list[str]:
    """Ids whose time has come, each taken by one caller only."""
    upper = cache.score(now or utcnow())
    ids = redis_client.zrangebyscore(DUE_KEY, "-inf", upper, start=0, num=limit)
    if not ids:
        return []
    pipe = redis_client.pipeline(transaction=False)
    for post_id in ids:
        pipe.zrem(DUE_KEY, post_id)
    return [post_id for post_id, taken in zip(ids, pipe.execute()) if taken]
