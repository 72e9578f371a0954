"""The one screening step for every user text, without its owners importing moderation.

Posts (text, title, body, tags, product titles), comments, profiles (display name, bio) and
campaigns (title, description, tag) are screened here on create and on every edit, whatever
the content's status. A screen looks at the texts and returns reasons to hold the content
for review (``["terms"]``, ``["spam"]``), or raises ``ApiError(422, "content_blocked")`` to
refuse it. A flag tells whether one word or phrase may be shown at all (tag suggestions).
Moderation registers both in its ``init_app``; it lives in the core because accounts (core)
screen profiles too.

``kind`` is a post kind, ``"comment"``, ``"profile"`` or ``"campaign"``; ``account`` is the
author (None while registering).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Screen = Callable[..., list[str]]  # (account, kind, texts, **context) -> reasons
Flag = Callable[[str], bool]
_screens: list[Screen] = []
_flags: list[Flag] = []


def register(screen: Screen, flag: Flag | None = None) -> None:
    if screen not in _screens:
        _screens.append(screen)
    if flag is not None and flag not in _flags:
        _flags.append(flag)


def screen(account: Any, kind: str, texts: list[str], **context: object) -> list[str]:
    """Reasons to hold this content for review (empty: publish); 422 to refuse it.
    ``edit=True`` in ``context``: the text was seen before (an edit, a draft going out), not
    a repeat."""
    texts = [t for t in texts if t]
    reasons: list[str] = []
    for check in _screens:
        for reason in check(account, kind, texts, **context):
            if reason not in reasons:
                reasons.append(reason)
    return reasons


def flagged(text: str) -> bool:
    """True if a word or phrase must not be offered to anyone (a block or review term)."""
    return any(flag(text) for flag in _flags)
