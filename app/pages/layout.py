"""The order of an account page's sections for one viewer.

A merchant or influencer sets ``page_layout`` per segment (``{"female": ["videos", ...]}``);
the viewer's segment (``feed.audience.segment``) picks the order, falling back to the
account's ``default`` and then to posts, videos, campaigns. Sections a layout leaves out
follow in the standard order, so no content disappears from a page by accident.
"""

from __future__ import annotations

from typing import Any

from feed import audience, segments

SECTIONS = ("posts", "videos", "campaigns")


def viewer_segment(viewer: Any, page_layout: dict | None = None) -> str:
    """The layout key for this viewer: the first behaviour segment of the account's layout
    the viewer is in (keys that are segment ids), else the viewer's gender or ``default``."""
    profile = audience.profile_of(viewer)
    for key in page_layout or {}:
        if len(key) == 24 and profile is not None and segments.is_member(key, profile):
            return key
    return audience.segment(profile)


def section_order(page_layout: dict | None, segment: str) -> list[str]:
    """The sections in the order this segment sees them."""
    layout = page_layout or {}
    chosen = layout.get(segment) or layout.get("default") or []
    ordered = [s for s in dict.fromkeys(chosen) if s in SECTIONS]
    return ordered + [s for s in SECTIONS if s not in ordered]
