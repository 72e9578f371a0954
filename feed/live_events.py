"""The feed's live events: new posts, counts and comments, pushed over Socket.IO.

``feed.new`` goes to rooms per author and segment (``feed:{author}:{segment}``) rather than
one emit per follower: a connection joins the rooms of the authors it follows, for its own
segment, so a post targeted at women reaches only the female segment rooms. Count changes are
coalesced: a burst of likes sends one ``post.counts`` per post per ``COUNTS_EVERY`` seconds.
"""

from __future__ import annotations

from app import live
from app.extensions import redis_client
from feed import hydrate

SEGMENTS = ("female", "male", "default")
COUNTS_EVERY = 0.5


def feed_room(author_id: object, segment: str) -> str:
    return f"feed:{author_id}:{segment}"


def page_room(author_id: object, segment: str) -> str:
    return f"page:{author_id}:{segment}"


def _segments_for(rule: dict | None) -> list[str]:
    """Segments whose viewers might match the audience (interest rules are checked per viewer
    on catch-up; live, an interest-targeted post goes to no segment room)."""
    if not rule:
        return list(SEGMENTS)
    if rule.get("interests_any"):
        return []
    return [rule["gender"]]


def post_published(post_id: str) -> None:
    """``feed.new`` to online followers and ``account.post`` to page subscribers."""
    item = hydrate.load([post_id]).get(post_id)
    if item is None or item["status"] != "published":
        return
    post = hydrate.posts_json([post_id], None, check=False)[0]
    cursor = post["cursor"]
    for segment in _segments_for(item["audience"]):
        live.emit("feed.new", {"post": post, "cursor": cursor}, feed_room(item["author_id"], segment))
        live.emit("account.post", {"post": post}, page_room(item["author_id"], segment))


def counts_changed(post_id: str) -> None:
    """Schedule one ``post.counts`` for this post unless one is already on its way."""
    if redis_client.set(f"counts-pending:{post_id}", 1, nx=True, px=int(COUNTS_EVERY * 1000)):
        from feed.tasks import emit_counts

        emit_counts.apply_async((post_id,), countdown=COUNTS_EVERY)


def emit_counts(post_id: str) -> None:
    item = hydrate.load([post_id]).get(post_id)
    if item is None:
        return
    live.emit("post.counts", {"post_id": post_id, "like_count": item["like_count"],
                              "comment_count": item["comment_count"],
                              "view_count": item["view_count"]}, live.post_room(post_id))


def comment_added(post_id: str, comment: dict) -> None:
    live.emit("comment.new", {"post_id": post_id, "comment": comment}, live.post_room(post_id))
