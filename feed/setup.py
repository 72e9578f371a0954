"""The feed's wiring into the app: signal receivers, the media, segment and following hooks,
the OpenAPI schemas named by reference, the commands and the periodic jobs."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app import signals
from feed import (
    audience,
    campaigns,
    channels,
    foryou,
    interests,
    live_events,
    mentions,
    segments,
    stamps,
    trends,
    visibility,
)
from feed.cleanup import delete_account_content
from feed.cli import demo_cli, feeds_cli
from feed.posts import media_finished
from feed.schemas import NotificationGroupSchema, NotificationSchema
from media.service import register_viewer_check


def _on_media_ready(media: Any, **_: Any) -> None:
    media_finished(str(media.id), ok=True)


def _on_media_failed(media: Any, **_: Any) -> None:
    error = getattr(media, "error", None)
    media_finished(str(media.id), ok=False, error=dict(error) if error else None)


def _on_account_deleted(account: Any, **_: Any) -> None:
    delete_account_content(account)


def _register_schemas(app: Flask) -> None:
    """Schemas the OpenAPI document refers to by name (the notification list's items)."""
    components = app.extensions["api"].spec.components
    components.schema("Notification", schema=NotificationSchema)
    components.schema("NotificationGroup", schema=NotificationGroupSchema)


# Each signal's receivers, in the order they run.
_RECEIVERS = (
    (signals.post_saved, live_events.on_post_saved),
    (signals.post_saved, live_events.on_post_changed),
    (signals.post_saved, channels.on_post_saved),
    (signals.post_deleted, channels.on_post_deleted),
    (signals.media_ready, _on_media_ready),
    (signals.media_failed, _on_media_failed),
    (signals.account_deleted, _on_account_deleted),
    (signals.account_changed, stamps.on_account_changed),
    (signals.post_saved, campaigns.on_post_saved),
    (signals.post_saved, trends.on_post_saved),
    (signals.post_saved, mentions.on_post_saved),
    (signals.post_engaged, trends.on_post_engaged),
    (signals.post_engaged, interests.on_post_engaged),
    (signals.followed, interests.on_followed),
    (signals.followed, foryou.on_followed),
    (signals.post_engaged, segments.on_post_engaged),
    (signals.followed, segments.on_followed),
    (signals.unfollowed, segments.on_unfollowed),
    (signals.post_saved, segments.on_post_saved),
    (signals.post_deleted, campaigns.on_post_deleted),
    (signals.account_changed, campaigns.on_account_changed),
)


def init_app(app: Flask) -> None:
    register_viewer_check(visibility.may_see_media)
    for signal, receiver in _RECEIVERS:
        signal.connect(receiver, weak=False)
    audience.use_segments(segments.is_member)
    _register_schemas(app)
    app.cli.add_command(feeds_cli)
    app.cli.add_command(demo_cli)
    schedule = app.extensions["celery"].conf.beat_schedule
    schedule["feed-flush-views"] = {
        "task": "feed.tasks.flush_views",
        "schedule": float(app.config["VIEW_FLUSH_SECONDS"]),
    }
    schedule["feed-fanout-sweep"] = {
        "task": "feed.tasks.sweep_fanout",
        "schedule": float(max(1, app.config["FANOUT_SWEEP_SECONDS"])),
    }
    # scheduled posts go out within a few seconds of their time; a late tick is dropped
    schedule["feed-publish-due"] = {
        "task": "feed.tasks.publish_due",
        "schedule": float(app.config["SCHEDULE_POLL_SECONDS"]),
        "options": {"expires": 5.0},
    }
    schedule["feed-sweep-scheduled"] = {
        "task": "feed.tasks.sweep_scheduled",
        "schedule": float(app.config["SCHEDULE_SWEEP_SECONDS"]),
        "options": {"expires": 30.0},
    }
