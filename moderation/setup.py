"""Moderation's setup: its screen of every user text and the receivers that keep the queue
in step."""

from __future__ import annotations

from flask import Flask

from app import screening, signals
from moderation import service


def init_app(app: Flask) -> None:
    """Register the feed screen and the receivers that keep the queue in step."""
    screening.register(service.screen_content, service.flagged)
    signals.content_held.connect(service.on_content_held, weak=False)
    signals.post_deleted.connect(service.on_target_deleted, weak=False)
    signals.account_deleted.connect(service.on_target_deleted, weak=False)

