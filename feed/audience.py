"""Audience rules: which viewers a post is for, and which segment a viewer is in.

A post's ``audience`` is ``None`` (everyone), ``{"gender": "female"}``, ``{"interests_any":
[...]}``, ``{"segment_id": ...}`` (one of the author's behaviour segments, checked by
``feed.segments``) or several (all given conditions must hold). Anonymous viewers match only
posts without an audience. The same rule is applied at fan-out, at read and on account pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SegmentCheck = Callable[[str, "dict | None"], bool]
# Whether a profile (with its ``id``) is in a behaviour segment: set by ``feed.segments``.
_checks: list[SegmentCheck] = []


def use_segments(check: SegmentCheck) -> None:
    _checks[:] = [check]


def _segment_check(segment_id: str, profile: dict | None) -> bool:
    return bool(_checks) and _checks[0](segment_id, profile)


def normalize(audience: dict[str, Any] | None) -> dict[str, Any] | None:
    """Drop empty conditions; an audience with none left is everyone (None)."""
    if not audience:
        return None
    out: dict[str, Any] = {}
    if audience.get("gender"):
        out["gender"] = audience["gender"]
    interests = [i.strip().lower() for i in audience.get("interests_any") or [] if i.strip()]
    if interests:
        out["interests_any"] = sorted(set(interests))
    if audience.get("segment_id"):
        out["segment_id"] = str(audience["segment_id"])
    return out or None


def profile_of(account: Any) -> dict[str, Any] | None:
    """The matching profile of an account (or None for anonymous)."""
    if account is None:
        return None
    profile = account.profile
    if profile is None:
        return {"gender": None, "interests": [], "id": str(account.id)}
    return {"gender": profile.gender, "interests": [i.lower() for i in profile.interests],
            "id": str(account.id)}


def matches(audience: dict[str, Any] | None, profile: dict[str, Any] | None) -> bool:
    if not audience:
        return True
    if profile is None:
        return False
    if audience.get("gender") and profile.get("gender") != audience["gender"]:
        return False
    wanted = audience.get("interests_any")
    if wanted and not set(wanted) & set(profile.get("interests") or []):
        return False
    return not audience.get("segment_id") or _segment_check(audience["segment_id"], profile)


def segment(profile: dict[str, Any] | None) -> str:
    """The page-layout segment of a viewer: their gender, else ``default``."""
    if profile and profile.get("gender"):
        return profile["gender"]
    return "default"
