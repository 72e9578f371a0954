"""Who may see what: the one place that decides it for posts and everything shown with them.

A post, its media, its files, its comments, its live events and its counts are shown to a
viewer only if that viewer may see the post (``visible``): its author always; others only
while it is ``published``, its author is not suspended, has not blocked them, and they match
its audience. Moderators see everything on single-post routes (they judge it). A media
record is shown to its owner, and to others only through a post they may see or as its
owner's avatar or banner: a media record that belongs to no visible post is its owner's alone.

Lists and feeds apply ``visible`` in ``hydrate.posts_json``; single questions (a post by
id, a media, a live subscription, a live emit) come here. Stored files cannot be checked per
viewer (players fetch them without credentials), so their URLs are unguessable and expire
(``media.storage``): only a viewer who was shown the media gets them.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from app.accounts import service as accounts
from app.accounts.models import Account
from feed import audience, graph
from feed.models import Post


def visible(item: dict[str, Any], viewer: Account | None, profile: dict | None,
            author: dict | None, blocked_by: set[str]) -> bool:
    """The one visibility rule, over a post's cached JSON (``item``: ``author_id``,
    ``status``, ``audience``) and its author's entry from ``accounts.public_many`` (None:
    no such account)."""
    if author is None:
        return False
    if viewer is not None and str(viewer.id) == item["author_id"]:
        return True
    if author["suspended"] or item["status"] != "published" or item["author_id"] in blocked_by:
        return False
    return audience.matches(item["audience"], profile)


def may_see(viewer: Account | None, item: dict[str, Any] | None,
            moderators: bool = True) -> bool:
    """May this viewer see this one post (its cached JSON, None for a deleted post)?"""
    if item is None:
        return False
    author = accounts.public_many([item["author_id"]]).get(item["author_id"])
    if author is None:
        return False
    if viewer is not None and moderators and viewer.has_role("moderator"):
        return True
    blocked = graph.blocked_by(viewer.id) if viewer is not None else set()
    return visible(item, viewer, audience.profile_of(viewer), author, blocked)


def _item(post: Post) -> dict[str, Any]:
    """What ``visible`` reads of a post, from its document."""
    rule = audience.normalize(post.audience.to_mongo().to_dict()) if post.audience else None
    return {"author_id": str(post.author), "status": post.status, "audience": rule}


def may_see_media(viewer: Account | None, media_id: str, owner_id: str) -> bool:
    """Its owner; its owner's avatar or banner for anyone; else only through a post the
    viewer may see (any of the posts that carry it)."""
    if viewer is not None and str(viewer.id) == str(owner_id):
        return True
    if not ObjectId.is_valid(str(owner_id)):
        return False
    owner = ObjectId(str(owner_id))
    if (Account.objects(id=owner, avatar_media_id=str(media_id)).count()
            or Account.objects(id=owner, banner_media_id=str(media_id)).count()):
        return True
    carriers = Post.objects(media_ids=str(media_id)).only("author", "status", "audience")
    return any(may_see(viewer, _item(post)) for post in carriers)
