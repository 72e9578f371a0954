"""Likes, comments and unique views.

Likes are documents with a unique (post, account) index; counts move with ``$inc`` only when
a like is really created or deleted, so repeats and races never skew them. The viewer's
cached liked set (``liked``) follows each write under a short per-(account, post) lock, so a
like and an unlike racing each other update MongoDB and Redis in the same order; a writer
that could not hold the lock throughout drops the set instead (rebuilt on the next read). Unique views go
into a HyperLogLog per post (and per post and day, for stats); a periodic job flushes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from app import screening, signals
from app.accounts import service as accounts
from app.accounts.models import Account
from app.api import Shown
from app.errors import ApiError
from app.extensions import redis_client
from app.locks import hold
from app.pagination import newest_first
from app.times import utcnow
from feed import cache, graph, hydrate, live_events, mentions, notifications, stamps
from feed.models import Comment, DailyViews, Like, Post
from feed.posts import get_visible
from feed.schemas import CommentSchema

_comment = CommentSchema()  # the live comment.new event's comment

VIEW_DAYS_KEEP = 40


LIKE_LOCK_SECONDS = 30  # far above a like's MongoDB write and Redis update


@contextmanager
def _liking(account_id: object, post_id: str) -> Iterator[None]:
    """One like or unlike of ``post_id`` by the account at a time, its MongoDB write and its
    cached-set update together; without the lock held throughout, the set is dropped."""
    key = cache.liked_key(account_id)
    entered = False
    try:
        with hold(redis_client, f"{key}:lock:{post_id}", LIKE_LOCK_SECONDS,
                  LIKE_LOCK_SECONDS) as held:
            entered = True
            yield
    finally:
        if entered and not held.kept:  # not acquired, or expired and taken meanwhile
            cache.forget_set(key)


def _bump(post_id: object, field: str, delta: int) -> int:
    """Move a count in MongoDB and in the Redis counts hash; returns the new value."""
    Post.objects(id=post_id).update_one(**{f"inc__{field}_count": delta})
    count = hydrate.bump(post_id, field, delta)
    if count is not None:
        return count
    hydrate.forget(post_id)
    return hydrate.load([str(post_id)])[str(post_id)][f"{field}_count"]


def _counts_event(post_id: str) -> None:
    live_events.counts_changed(post_id)


def like(account: Account, post_id: str) -> dict:
    post = get_visible(post_id, account)
    with _liking(account.id, post_id):
        try:
            Like(post=post.id, account=account.id).save(force_insert=True)
            created = True
        except NotUniqueError:
            created = False
        cache.add_if_cached(cache.liked_key(account.id), post_id)  # a repeat heals it too
    if not created:
        count = hydrate.load([post_id])[post_id]["like_count"]
        return {"liked": True, "like_count": count}
    count = _bump(post.id, "like", 1)
    signals.post_engaged.send(post, action="liked", actor=account, who=f"a:{account.id}")
    notifications.notify(post.author, "like", account, post.id)
    _counts_event(post_id)
    stamps.viewer_changed(account.id)
    return {"liked": True, "like_count": count}


def unlike(account: Account, post_id: str) -> dict:
    post = get_visible(post_id, account)
    with _liking(account.id, post_id):
        deleted = Like.objects(post=post.id, account=account.id).delete()
        cache.remove_if_cached(cache.liked_key(account.id), post_id)  # a repeat heals it too
    if deleted:
        count = _bump(post.id, "like", -1)
        _counts_event(post_id)
        stamps.viewer_changed(account.id)
    else:
        count = hydrate.load([post_id])[post_id]["like_count"]
    return {"liked": False, "like_count": count}


# --- comments ----------------------------------------------------------------------------


def _parent(post: Post, reply_to: str | None) -> Comment | None:
    """The published comment of ``post`` that a new comment answers (400 otherwise)."""
    if not reply_to:
        return None
    parent = Comment.objects(id=reply_to).first() if ObjectId.is_valid(reply_to) else None
    if parent is None or parent.post != post.id or parent.status != "published":
        raise ApiError(400, "validation_error", "reply_to must be a comment of this post",
                       {"reply_to": ["not a comment of this post"]})
    return parent


def add_comment(account: Account, post_id: str, text: str,
                reply_to: str | None = None) -> Shown:
    post = get_visible(post_id, account)
    if str(post.author) in graph.blocked_by(account.id):
        raise ApiError(403, "blocked", "this account has blocked you")
    parent = _parent(post, reply_to)
    reasons = screening.screen(account, "comment", [text])
    comment = Comment(post=post.id, author=account.id, text=text,
                      reply_to=parent.id if parent else None,
                      status="pending_review" if reasons else "published")
    comment.save()
    if reasons:
        signals.content_held.send(comment, reasons=reasons)
    else:
        _published(comment, post.author, account)
    return Shown(comment, author=account)


def _published(comment: Comment, post_author: object, author: Account) -> None:
    """A comment became visible: count it, tell the post's author and its live subscribers."""
    _bump(comment.post, "comment", 1)
    post = Post.objects(id=comment.post).first()
    if post is not None:
        signals.post_engaged.send(post, action="commented", actor=author, who=f"a:{author.id}")
    _notify_comment(comment, post_author, author)
    live_events.comment_added(str(comment.post), _comment.dump(Shown(comment, author=author)))
    _counts_event(str(comment.post))
    stamps.viewer_changed(author.id)


def _notify_comment(comment: Comment, post_author: object, author: Account) -> None:
    """The answered comment's author hears ``reply``, the post's author ``comment`` (one
    notification each, ``reply`` first), the names in the text ``mention``."""
    told: set[str] = set()
    parent = Comment.objects(id=comment.reply_to).only("author").first() \
        if comment.reply_to else None
    if parent is not None:
        replied = accounts.get(parent.author)
        if replied is not None and mentions.may_see(comment.post, replied):
            notifications.notify(replied.id, "reply", author, comment.post, comment_id=comment.id)
            told.add(str(replied.id))
    if str(post_author) not in told:
        notifications.notify(post_author, "comment", author, comment.post)
        told.add(str(post_author))
    mentions.notify_mentions(author, comment.post, [comment.text], comment_id=comment.id,
                             skip=told)


def set_comment_status(comment: Comment, status: str) -> Comment:
    """Moderation moves comments in and out of view; counts and events follow."""
    before = comment.status
    if before == status:
        return comment
    comment.status = status
    comment.save()
    if status == "published":
        post = Post.objects(id=comment.post).only("author").first()
        author = accounts.get(comment.author)
        if post is not None and author is not None:
            _published(comment, post.author, author)
    elif before == "published":
        _bump(comment.post, "comment", -1)
        _counts_event(str(comment.post))
    return comment


def list_comments(post_id: str, viewer: Account | None, limit: int, cursor: str | None) -> dict:
    post = get_visible(post_id, viewer)
    comments, next_cursor = newest_first(Comment.objects(post=post.id, status="published"),
                                         limit, cursor)
    hidden = graph.hidden_ids(viewer.id) if viewer else set()
    authors = accounts.get_many([c.author for c in comments])
    items = [Shown(c, author=authors.get(str(c.author))) for c in comments
             if str(c.author) not in hidden and str(c.author) in authors
             and not authors[str(c.author)].suspended]
    return {"items": items, "next_cursor": next_cursor}


def delete_comment(account: Account, comment_id: str) -> None:
    comment = Comment.objects(id=comment_id).first() if ObjectId.is_valid(comment_id) else None
    if comment is None:
        raise ApiError(404, "not_found", "no such comment")
    if comment.author != account.id and not account.has_role("moderator"):
        if comment.status != "published":
            raise ApiError(404, "not_found", "no such comment")
        get_visible(str(comment.post), account)  # 404 for a post the caller may not see
        raise ApiError(403, "forbidden", "only the author or a moderator can delete this comment")
    was_published = comment.status == "published"
    comment.delete()
    if was_published:
        _bump(comment.post, "comment", -1)
        _counts_event(str(comment.post))
        stamps.viewer_changed(account.id)


# --- views -------------------------------------------------------------------------------


def _day_key(post_id: object, day: str) -> str:
    return f"pvd:{post_id}:{day}"


def view(post_id: str, viewer: Account | None, device_id: str | None) -> bool:
    """Count a unique viewer: the account, else the app's ``X-Device-Id``; True when the
    viewer is new to the post."""
    post = get_visible(post_id, viewer)
    who = f"a:{viewer.id}" if viewer else (f"d:{device_id}" if device_id else None)
    if who is None:
        raise ApiError(400, "validation_error", "anonymous views need an X-Device-Id header",
                       {"X-Device-Id": ["required without a token"]})
    day = utcnow().strftime("%Y-%m-%d")
    added = hydrate.add_view(post.id, who)
    pipe = redis_client.pipeline(transaction=False)  # two slots on a cluster
    pipe.pfadd(_day_key(post.id, day), who)
    pipe.expire(_day_key(post.id, day), VIEW_DAYS_KEEP * 86400)
    pipe.sadd("views-dirty", f"{post.id}:{day}")
    pipe.execute()
    if added:
        _counts_event(post_id)
        signals.post_engaged.send(post, action="viewed", actor=viewer, who=who)
    return bool(added)


def flush_views() -> int:
    """Write the sketches' counts to MongoDB (periodic job); returns posts flushed."""
    flushed = 0
    while True:
        entries = redis_client.spop("views-dirty", 500)
        if not entries:
            return flushed
        for entry in entries:
            post_id, day = entry.split(":")
            post = Post.objects(id=post_id).only("id", "author", "view_count").first()
            if post is None:
                continue
            total = redis_client.pfcount(cache.views_key(post_id))
            Post.objects(id=post_id, view_count__lt=total).update_one(set__view_count=total)
            daily = redis_client.pfcount(_day_key(post_id, day))
            DailyViews.objects(post=post.id, day=day).update_one(
                upsert=True, set__views=daily, set__author=post.author)
            flushed += 1


def recent_days(days: int) -> list[str]:
    today = utcnow().date()
    return [(today - timedelta(days=n)).strftime("%Y-%m-%d") for n in range(days - 1, -1, -1)]


