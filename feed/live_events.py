"""The feed's live events: new posts, counts and comments, pushed over Socket.IO.

``feed.new`` is emitted once, as soon as a post is published (a ``post_saved`` receiver),
not after the fan-out's timeline writes. It goes to rooms per author and segment
(``feed:{author}:{segment}``) rather than one emit per follower: a connection joins the
rooms of the authors it follows, for its own segment, so a post targeted at women reaches
only the female segment rooms. Interest rules cannot be rooms: such a post crosses Redis once
and each web process checks its own viewers' profiles (``app.live.emit_matching``). The
post's ``cursor`` lets a client that was offline catch up over REST (``?after=``).
``comment.new`` and ``post.counts`` go to a post's subscribers only while they may see it:
checked on each emit for any post that is not public (``_to_subscribers``), and
subscriptions are re-checked when a post changes (``on_post_changed``). Count
changes are coalesced: a burst of likes sends one ``post.counts`` per post per
``COUNTS_EVERY`` seconds.
"""

from __future__ import annotations

import logging

from app import live
from app.extensions import redis_client
from app.jobs import enqueue
from feed import hydrate, subscriptions

log = logging.getLogger(__name__)

SEGMENTS = ("female", "male", "default")
COUNTS_EVERY = 0.5
PUBLISHED_MARKER_SECONDS = 7 * 24 * 3600


def _segments_for(rule: dict | None) -> list[str]:
    """Segment rooms whose viewers might match the audience (gender is a segment; interests
    are checked per viewer by the process that holds the connection)."""
    if rule and rule.get("gender"):
        return [rule["gender"]] if rule["gender"] in SEGMENTS else []
    return list(SEGMENTS)


def on_post_saved(post, before: str | None = None, **_kwargs) -> None:
    """A post just became published (created, approved, its video ready): tell online
    followers now, where the change happens, instead of after the fan-out job's timeline
    writes (seconds for a large pushed author). The job calls ``post_published`` too, as a
    fallback; only the first call emits."""
    if post.status != "published" or before == "published":
        return
    try:
        post_published(str(post.id))
    except Exception:  # the fan-out job will try again
        log.exception("live events for post %s failed", post.id)


def post_published(post_id: str) -> None:
    """``feed.new`` to online followers and ``account.post`` to page subscribers who may see
    the post, whether the author is pushed or pulled: one emit per audience, not per viewer.
    The author's own connections get ``feed.new`` too (their home feed shows their posts).
    Emitted once per post, however many times this is called."""
    item = hydrate.load([post_id]).get(post_id)
    if item is None or item["status"] != "published":
        return
    marker = f"live-published:{post_id}"
    if not redis_client.set(marker, 1, nx=True, ex=PUBLISHED_MARKER_SECONDS):
        return
    try:
        _emit_published(post_id, item)
    except Exception:
        redis_client.delete(marker)  # not sent: let the next call (the job) send it
        raise


def _emit_published(post_id: str, item: dict) -> None:
    post = hydrate.posts_json([post_id], None, check=False)[0]
    author, rule = item["author_id"], item["audience"]
    new = {"post": post, "cursor": post["cursor"]}
    segments = _segments_for(rule)
    feed_rooms = [live.feed_room(author, segment) for segment in segments]
    page_rooms = [live.page_room(author, segment) for segment in segments]
    if rule and rule.get("interests_any"):
        live.emit_matching("feed.new", new, feed_rooms, rule)
        live.emit_matching("account.post", {"post": post}, page_rooms, rule)
        live.emit("feed.new", new, live.account_room(author))
        return
    live.emit("feed.new", new, [*feed_rooms, live.account_room(author)])
    if page_rooms:
        live.emit("account.post", {"post": post}, page_rooms)


def counts_changed(post_id: str) -> None:
    """Schedule one ``post.counts`` for this post unless one is already on its way."""
    if redis_client.set(f"counts-pending:{post_id}", 1, nx=True, px=int(COUNTS_EVERY * 1000)):
        enqueue("feed.tasks.emit_counts", post_id, countdown=COUNTS_EVERY)


def _to_subscribers(event: str, payload: dict, post_id: str, item: dict | None) -> None:
    """An event for a post's subscribers, checked when it is sent: a public post's go to
    its room in one emit; anyone else's are checked by each web process against each
    subscriber (``feed.subscriptions``), so a subscription made while the post was public
    gets nothing once it is re-targeted, held or its author suspended."""
    if item is None:
        return
    if subscriptions.public(item):
        live.emit(event, payload, live.post_room(post_id))
    else:
        live.emit_visible(event, payload, post_id)


def emit_counts(post_id: str) -> None:
    item = hydrate.load([post_id]).get(post_id)
    if item is None:
        return
    _to_subscribers("post.counts", {"post_id": post_id, "like_count": item["like_count"],
                                    "comment_count": item["comment_count"],
                                    "view_count": item["view_count"]}, post_id, item)


def comment_added(post_id: str, comment: dict) -> None:
    _to_subscribers("comment.new", {"post_id": post_id, "comment": comment}, post_id,
                    hydrate.load([post_id]).get(post_id))


def on_post_changed(post, before: str | None = None, **_kwargs) -> None:
    """A post was edited or changed status: its subscribers are checked
    again (wherever they are connected) and those who may no longer see it leave its room."""
    if before is None:  # a new post has no subscribers yet
        return
    try:
        live.recheck_post(str(post.id))
    except Exception:  # each emit is checked anyway; this only tidies rooms
        log.exception("re-checking the subscribers of post %s failed", post.id)
