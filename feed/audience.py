"""Audience rules: which viewers a post is for, and which segment a viewer is in.

A post's ``audience`` is ``None`` (everyone), ``{"gender": "female"}``, ``{"interests_any":
[...]}`` or both (all given conditions must hold). Anonymous viewers match only posts without
an audience. The same rule is applied at fan-out, at read and on account pages.
"""

from __future__ import annotations

from typing import Any


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
    return out or None


def profile_of(account: Any) -> dict[str, Any] | None:
    """The matching profile of an account (or None for anonymous)."""
    if account is None:
        return None
    profile = account.profile
    if profile is None:
        return {"gender": None, "interests": []}
    return {"gender": profile.gender, "interests": [i.lower() for i in profile.interests]}


def matches(audience: dict[str, Any] | None, profile: dict[str, Any] | None) -> bool:
    if not audience:
        return True
    if profile is None:
        return False
    if audience.get("gender") and profile.get("gender") != audience["gender"]:
        return False
    wanted = audience.get("interests_any")
    return not (wanted and not set(wanted) & set(profile.get("interests") or []))


def segment(profile: dict[str, Any] | None) -> str:
    """The page-layout segment of a viewer: their gender, else ``default``."""
    if profile and profile.get("gender"):
        return profile["gender"]
    return "default"
