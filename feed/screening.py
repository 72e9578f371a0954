"""Where moderation plugs into publishing, without the feed importing moderation.

A screen looks at an account's new or edited text and returns reasons to hold it for review
(``["terms"]``, ``["spam"]``), or raises ``ApiError(422, "content_blocked")`` to refuse it.
Moderation registers its screens in its ``init_app``.
"""

from __future__ import annotations

from collections.abc import Callable

from app.accounts.models import Account

Screen = Callable[..., list[str]]  # (account, kind, texts, **context) -> reasons
_screens: list[Screen] = []


def register(screen: Screen) -> None:
    if screen not in _screens:
        _screens.append(screen)


def screen(account: Account, kind: str, texts: list[str], **context: object) -> list[str]:
    """Reasons to hold this content for review (empty: publish). ``edit=True`` in
    ``context``: the text was seen before (an edit, a draft going out), not a repeat."""
    reasons: list[str] = []
    for check in _screens:
        for reason in check(account, kind, texts, **context):
            if reason not in reasons:
                reasons.append(reason)
    return reasons
