"""Moderation: term rules, spam rules, reports, the review queue, decisions, audit, limits.

``init_app`` plugs moderation into publishing: ``screen_content`` is registered as the
one screen of every user text (``app.screening``: block terms refuse, review terms and spam
hold) and ``content_held`` queues what is held. What other packages call is re-exported
here (imported on first use)::

    from moderation import check_text, enqueue, limit, register_target
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask

_EXPORTS = {
    "screen_content": "service", "enqueue": "service", "report": "service",
    "decide": "service", "item_for": "service", "suspend": "service", "reinstate": "service",
    "check_text": "terms", "Verdict": "terms", "check_spam": "spam", "limit": "ratelimits",
    "register_target": "targets", "Target": "targets",
}


def init_app(app: Flask) -> None:
    """Register the feed screen and the receivers that keep the queue in step."""
    from app import screening, signals
    from moderation import ratelimits, service

    ratelimits.install_defaults()
    screening.register(service.screen_content, service.flagged)
    signals.content_held.connect(service.on_content_held, weak=False)
    signals.post_deleted.connect(service.on_target_deleted, weak=False)
    signals.account_deleted.connect(service.on_target_deleted, weak=False)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'moderation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"moderation.{module}"), name)
