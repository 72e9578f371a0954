"""The order of an account page's sections for one viewer.

A merchant or influencer sets ``page_layout`` per segment (``{"female": ["videos", ...]}``);
the viewer's segment (``feed.audience.segment``) picks the order, falling back to the
account's ``default`` and then to posts, videos, campaigns. Sections a layout leaves out
follow in the standard order, so no content disappears from a page by accident.
"""

from __future__ import annotations

from typing import Any

from feed import audience

SECTIONS = ("posts", "videos", "campaigns")


def viewer_segment(viewer: Any) -> str:
    return audience.segment(audience.profile_of(viewer))


def section_order(page_layout: dict | None, segment: str) -> list[str]:
    """The sections in the order this segment sees them."""
    layout = page_layout or {}
    chosen = layout.get(segment) or layout.get("default") or []
    ordered = [s for s in dict.fromkeys(chosen) if s in SECTIONS]
    return ordered + [s for s in SECTIONS if s not in ordered]
