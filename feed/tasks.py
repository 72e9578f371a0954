"""Celery jobs of the feed. Each is idempotent: running it twice changes nothing more."""

from celery import shared_task
from flask import current_app
from redis import exceptions as redis_errors

from feed import fanout, interactions, live_events, posts, segments


# Redis going away half way through leaves some timelines without the post: run it again
# (pushing is idempotent) once Redis is back.
@shared_task(name="feed.tasks.fanout_post", acks_late=True,
             autoretry_for=(redis_errors.ConnectionError, redis_errors.TimeoutError), retry_backoff=2,
             retry_backoff_max=60, max_retries=10)
def fanout_post(post_id: str) -> int:
    """Deliver a published post to timelines, then tell online followers."""
    written = fanout.fan_out(post_id)
    live_events.post_published(post_id)
    return written


@shared_task(name="feed.tasks.emit_counts", ignore_result=True)
def emit_counts(post_id: str) -> None:
    live_events.emit_counts(post_id)


@shared_task(name="feed.tasks.flush_views", ignore_result=True)
def flush_views() -> int:
    return interactions.flush_views()


@shared_task(name="feed.tasks.sweep_fanout", ignore_result=True)
def sweep_fanout() -> int:
    """Queue the fan-out of posts left in the outbox (see ``feed.fanout.sweep``)."""
    return fanout.sweep()


@shared_task(name="feed.tasks.count_segment", ignore_result=True)
def count_segment(segment_id: str) -> int | None:
    """The size of a large behaviour segment, counted off the request path."""
    return segments.count(segment_id)


@shared_task(name="feed.tasks.publish_due", ignore_result=True)
def publish_due() -> int:
    """Every second (beat): scheduled posts whose time has come go out."""
    return posts.release_due()


@shared_task(name="feed.tasks.sweep_scheduled", ignore_result=True)
def sweep_scheduled() -> int:
    """Now and then (beat): what Redis lost of the schedule is put back from MongoDB."""
    return posts.sweep_scheduled(2 * current_app.config["SCHEDULE_SWEEP_SECONDS"])
