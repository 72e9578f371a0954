"""Publishing, editing and deleting posts; the statuses of the contract.

A post is ``published`` at once, ``processing`` while its video is not ready, or
``pending_review`` when a screen holds it (terms, spam, a fan's video). Publishing never waits
for the fan-out: a job does it. A ``draft`` or a ``scheduled`` post is the author's only until
it goes out (``release``): then the campaign window, moderation and the media state apply as
of that moment, as for a new post.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from app import faults, screening, signals
from app.accounts import service as accounts
from app.accounts.models import Account
from app.errors import ApiError
from app.jobs import enqueue
from app.times import as_utc, utcnow
from feed import audience, hydrate, planning, segments, stamps, visibility
from feed.bodies import render_markdown
from feed.models import PLANNED, Audience, Campaign, Comment, Like, Post, Product
from media import service as media

log = logging.getLogger(__name__)


def normalize_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lstrip("#").lower() for t in tags if t.strip().lstrip("#")))


def get(post_id: str) -> Post:
    if not ObjectId.is_valid(post_id):
        raise ApiError(404, "not_found", "no such post")
    post = Post.objects(id=post_id).first()
    if post is None:
        raise ApiError(404, "not_found", "no such post")
    return post


def get_visible(post_id: str, viewer: Account | None) -> Post:
    """The post if the viewer may see it (404 otherwise, so nothing leaks)."""
    post = get(post_id)
    if viewer is not None and viewer.id == post.author:
        return post
    if not visibility.may_see(viewer, hydrate.load([str(post.id)]).get(str(post.id))):
        raise ApiError(404, "not_found", "no such post")
    return post


def _forbidden(post_id: str, viewer: Account, message: str) -> ApiError:
    """403 only for a post the caller may see; one it may not see is a 404 (that it exists
    is not told)."""
    get_visible(post_id, viewer)
    return ApiError(403, "forbidden", message)


def _campaign(campaign_id: str | None, kind: str,
              at: datetime | None = None, check_window: bool = True) -> Campaign | None:
    """The campaign a video joins, open at ``at`` (now by default; drafts skip the window
    until they are published)."""
    if not campaign_id:
        return None
    campaign = Campaign.objects(id=campaign_id).first() if ObjectId.is_valid(campaign_id) else None
    if campaign is None:
        raise ApiError(404, "not_found", "no such campaign", {"campaign_id": ["no such campaign"]})
    if kind != "video":
        raise ApiError(400, "validation_error", "campaign entries are videos",
                       {"campaign_id": ["only video posts join campaigns"]})
    now = at or utcnow()
    if check_window and not as_utc(campaign.starts_at) <= now < as_utc(campaign.ends_at):
        raise ApiError(422, "campaign_closed", "this campaign is not open for entries")
    return campaign


def _media_state(account: Account, media_ids: list[str]) -> str:
    """``ready`` when every media item is ready, else ``processing``; 400 for foreign ids."""
    if not media_ids:
        return "ready"
    return media.media_state(account, media_ids)


def _held_reasons(account: Account, post: Post, **context: Any) -> list[str]:
    texts = [t for t in (post.text, post.title, post.body, *post.tags) if t]
    texts += [p.title for p in post.products]
    reasons = screening.screen(account, post.kind, texts, **context)
    if (post.kind == "video" and account.kind == "fan"
            and current_app.config["FAN_VIDEO_REVIEW"]):
        reasons.append("fan_video")
    return reasons


def _plan(data: dict[str, Any]) -> tuple[str | None, datetime | None]:
    """``draft``, ``scheduled`` (with its time) or None (publish now) for a new post."""
    if data.get("publish_at") is not None:
        if data.get("draft"):
            raise ApiError(400, "validation_error", "a post is a draft or scheduled, not both",
                           {"draft": ["a draft has no publish_at"]})
        return "scheduled", planning.check_publish_at(data["publish_at"])
    return ("draft", None) if data.get("draft") else (None, None)


def create(account: Account, data: dict[str, Any]) -> Post:
    kind = data["kind"]
    if kind == "headline" and not (data.get("title") and data.get("body")):
        raise ApiError(400, "validation_error", "headlines need a title and a body",
                       {"title": ["required for headlines"], "body": ["required for headlines"]})
    if kind == "video" and not data.get("media_ids"):
        raise ApiError(400, "validation_error", "video posts need a video",
                       {"media_ids": ["required for video posts"]})
    if kind == "post" and not (data.get("text", "").strip() or data.get("media_ids")):
        raise ApiError(400, "validation_error", "a post needs text or media",
                       {"text": ["required"]})
    if data.get("products") and account.kind == "fan":
        raise ApiError(400, "validation_error", "only merchants and influencers link products",
                       {"products": ["not allowed for fans"]})
    plan, publish_at = _plan(data)
    campaign = _campaign(data.get("campaign_id"), kind, publish_at, check_window=plan != "draft")
    rule = audience.normalize(data.get("audience"))
    if rule and rule.get("segment_id"):
        segments.owned_segment(account, rule["segment_id"])
    post = Post(
        author=account.id,
        author_kind=account.kind,
        kind=kind,
        text=data.get("text", ""),
        title=data.get("title"),
        body=data.get("body"),
        body_html=render_markdown(data["body"]) if data.get("body") else None,
        media_ids=data.get("media_ids", []),
        tags=normalize_tags(data.get("tags", [])),
        audience=Audience(**rule) if rule else None,
        products=[Product(**p) for p in data.get("products", [])],
        campaign_id=campaign.id if campaign else None,
    )
    reasons = _held_reasons(account, post)
    media = _media_state(account, post.media_ids)
    post.review_reasons = reasons
    if plan:
        post.status, post.publish_at = plan, publish_at
    elif media != "ready":
        post.status = "processing"
    elif reasons:
        post.status = "pending_review"
    _mark_fanout(post, None)
    post.save()
    faults.point("after_post_store")
    if not plan:  # a planned post is counted when it goes out
        _count(account.id, 1)
    after_change(post, None)
    if publish_at:
        planning.schedule(post.id, publish_at)
    return post


def _count(author_id: object, delta: int) -> None:
    Account.objects(id=author_id).update_one(inc__posts_count=delta)
    accounts.invalidate(author_id)


def _move(post: Post, before: str, **changes: Any) -> None:
    """Change a post's status only if nobody changed it (or its time) meanwhile (the worker
    publishing a scheduled post, the author moving or cancelling it): 409 for the second."""
    if not Post.objects(id=post.id, status=before,
                        publish_at=post.publish_at).update_one(**changes):
        raise ApiError(409, "conflict", "the post was published or changed meanwhile")
    post.reload()


def _own_planned(account: Account, post_id: str) -> Post:
    post = get(post_id)
    if post.author != account.id:
        raise _forbidden(post_id, account, "only the author can publish this post")
    if post.status not in PLANNED:
        raise ApiError(409, "conflict", f"a {post.status} post is not a draft or scheduled")
    return post


def publish(account: Account, post_id: str, publish_at: datetime | None = None) -> Post:
    """``POST /posts/{id}/publish``: a draft or scheduled post goes out now, or is
    (re)scheduled for ``publish_at``."""
    post = _own_planned(account, post_id)
    before = post.status
    if publish_at is None:
        return release(post)
    at = planning.check_publish_at(publish_at)
    _campaign(str(post.campaign_id) if post.campaign_id else None, post.kind, at)
    _move(post, before, set__status="scheduled", set__publish_at=at)
    planning.schedule(post.id, at)
    after_change(post, before)
    return post


def release(post: Post, now: datetime | None = None) -> Post:
    """A planned post goes out: the campaign window, moderation and its media's state
    apply as of now; it takes its place in feeds at this time."""
    now = now or utcnow()
    before = post.status
    author = accounts.get(post.author)
    if author is None:
        raise ApiError(404, "not_found", "no such post")
    _campaign(str(post.campaign_id) if post.campaign_id else None, post.kind, now)
    spam = [r for r in post.review_reasons if r == "spam"]  # held when written stays held
    reasons = list(dict.fromkeys(spam + _held_reasons(author, post, edit=True)))
    if _media_state(author, post.media_ids) != "ready":
        status = "processing"
    else:
        status = "pending_review" if reasons else "published"
    outbox = {"set__fanout_due": now} if status == "published" else {}
    _move(post, before, set__status=status, set__review_reasons=reasons, set__created_at=now,
          **outbox)
    planning.unschedule(post.id)
    _count(post.author, 1)
    after_change(post, before)
    return post


def release_due(now: datetime | None = None) -> int:
    """The worker's side: publish every scheduled post whose time has come (idempotent:
    a post taken twice, edited or cancelled meanwhile is published at most once)."""
    now = now or utcnow()
    released = 0
    for post_id in planning.take_due(now):
        post = Post.objects(id=post_id, status="scheduled").first()
        if post is None:
            continue
        if post.publish_at is None or as_utc(post.publish_at) > now:  # moved later meanwhile
            planning.schedule(post.id, post.publish_at or now)
            continue
        try:
            release(post, now)
            released += 1
        except ApiError as error:
            if error.status == 409:  # published or cancelled by someone else meanwhile
                continue
            # the campaign closed or a term now blocks it: it fails, and says why
            before = post.status
            try:
                _move(post, before, set__status="failed",
                      set__error={"code": error.code, "message": error.message})
            except ApiError:
                continue
            after_change(post, before)
    return released


def sweep_scheduled(ahead_seconds: int, now: datetime | None = None) -> int:
    """Put scheduled posts due within ``ahead_seconds`` back into Redis (it may have lost
    them, or a killed worker took them unpublished), then publish what is due."""
    now = now or utcnow()
    soon = now + timedelta(seconds=ahead_seconds)
    for post in Post.objects(status="scheduled", publish_at__lte=soon).only("id", "publish_at"):
        planning.schedule(post.id, post.publish_at)
    return release_due(now)


def edit(account: Account, post_id: str, changes: dict[str, Any]) -> Post:
    post = get(post_id)
    if post.author != account.id:
        raise _forbidden(post_id, account, "only the author can edit this post")
    if post.status in ("removed", "rejected"):
        raise ApiError(409, "conflict", f"a {post.status} post cannot be edited")
    for field in ("text", "title"):
        if field in changes:
            setattr(post, field, changes[field])
    if "body" in changes:
        post.body = changes["body"]
        post.body_html = render_markdown(changes["body"]) if changes["body"] else None
    if "tags" in changes:
        post.tags = normalize_tags(changes["tags"])
    if "audience" in changes:
        rule = audience.normalize(changes["audience"])
        if rule and rule.get("segment_id"):
            segments.owned_segment(account, rule["segment_id"])
        post.audience = Audience(**rule) if rule else None
    if "products" in changes:
        post.products = [Product(**p) for p in changes["products"]]
    before = post.status
    plan = _replan(post, changes["publish_at"]) if "publish_at" in changes else None
    reasons = [r for r in _held_reasons(account, post) if r != "fan_video"]
    new_reasons = [r for r in reasons if r not in post.review_reasons]
    if reasons and post.status == "published":
        post.status = "pending_review"
        post.review_reasons = reasons
    elif new_reasons:
        # not published yet (its video is processing) or already held: the reasons go with
        # it, so the post is held when its media is ready, and a held one is queued again
        post.review_reasons = [*post.review_reasons, *new_reasons]
    post.edited_at = utcnow()
    post.save()
    if plan is not None:
        status, at = plan
        _move(post, before, set__status=status, set__publish_at=at)
        if at is not None:
            planning.schedule(post.id, at)
        else:
            planning.unschedule(post.id)
    after_change(post, before)
    if before == "pending_review" and post.status == "pending_review" and new_reasons:
        signals.content_held.send(post, reasons=new_reasons)
    if before == "processing" and reasons:
        # its video became ready while this edit was saved: hold what was just published
        fresh = Post.objects(id=post.id, status="published").first()
        if fresh is not None:
            post = set_status(fresh, "pending_review")
    return post


def _replan(post: Post, publish_at: datetime | None) -> tuple[str, datetime | None]:
    """Where a PATCHed ``publish_at`` takes a planned post: a new time (a draft becomes
    scheduled), or None (a scheduled post is cancelled back to a draft)."""
    if post.status not in PLANNED:
        raise ApiError(409, "conflict", f"a {post.status} post has no publish time",
                       {"publish_at": ["only drafts and scheduled posts have one"]})
    if publish_at is None:
        return "draft", None
    at = planning.check_publish_at(publish_at)
    _campaign(str(post.campaign_id) if post.campaign_id else None, post.kind, at)
    return "scheduled", at


def delete(account: Account, post_id: str) -> None:
    post = get(post_id)
    if post.author != account.id and not account.has_role("moderator"):
        raise _forbidden(post_id, account, "only the author or a moderator can delete this post")
    remove(post)


def remove(post: Post) -> None:
    """Delete for good: gone from every feed and list at once (the cache keeps a tombstone)."""
    signals.post_deleted.send(post)
    planning.unschedule(post.id)
    hydrate.forget(post.id, deleted=True)
    stamps.posts_changed()
    Comment.objects(post=post.id).delete()
    Like.objects(post=post.id).delete()
    post.delete()
    _discard_media(post)
    if post.status not in PLANNED:
        Account.objects(id=post.author).update_one(dec__posts_count=1)
    accounts.invalidate(post.author)


def _discard_media(post: Post) -> None:
    """A deleted post's media go with it (files included), unless another post of its
    author carries them or one is the author's avatar."""
    if not post.media_ids:
        return
    kept = {m for other in Post.objects(media_ids__in=list(post.media_ids)).only("media_ids")
            for m in other.media_ids}
    author = Account.objects(id=post.author).only("avatar_media_id", "banner_media_id").first()
    if author is not None:
        kept |= {author.avatar_media_id, author.banner_media_id}
    gone = [m for m in post.media_ids if m not in kept]
    media.discard(gone, post.author)


def set_status(post: Post, status: str, error: dict | None = None) -> Post:
    """Moderation decisions and the media pipeline move posts between statuses."""
    before = post.status
    post.status = status
    if error is not None:
        post.error = error
    _mark_fanout(post, before)
    post.save()
    after_change(post, before)
    return post


def _mark_fanout(post: Post, before: str | None) -> None:
    """Put a post that becomes published in the fan-out outbox, in the write that stores it,
    so a process killed before queueing its fan-out loses nothing: the sweep queues it."""
    if post.status == "published" and before != "published":
        post.fanout_due = utcnow()


def after_change(post: Post, before: str | None) -> None:
    """Refresh caches, fan out what became published, tell the other packages."""
    if before is None:
        hydrate.store(post)  # a new post: its counts are zero
    else:
        hydrate.restate(post)
    if before == "published":  # others may have it on a kept feed page
        stamps.posts_changed()
    if post.status == "published" and before != "published":
        try:
            enqueue("feed.tasks.fanout_post", str(post.id))
        except Exception as exc:  # broker away: the post is in the outbox, the sweep queues it
            log.error("could not queue the fan-out of post %s: %s", post.id, exc)
    signals.post_saved.send(post, before=before)
    if post.status == "pending_review" and before != "pending_review":
        signals.content_held.send(post, reasons=list(post.review_reasons))


def media_finished(media_id: str, ok: bool, error: dict | None = None) -> None:
    """A video finished processing: publish (or hold) or fail the posts waiting on it."""
    for post in Post.objects(media_ids=media_id, status="processing"):
        if not ok:
            set_status(post, "failed", error or {"code": "corrupt", "message": "media failed"})
            continue
        author = accounts.get(post.author)
        if author is None or _media_state(author, post.media_ids) != "ready":
            continue
        # published only if no edit added a reason to hold it meanwhile (one atomic step,
        # so an edit saved at the same moment is either seen here or sees the result)
        if Post.objects(id=post.id, status="processing", review_reasons__size=0).update_one(
                set__status="published", set__fanout_due=utcnow()):  # + the outbox mark
            after_change(Post.objects(id=post.id).first() or post, "processing")
            continue
        fresh = Post.objects(id=post.id, status="processing").first()
        if fresh is not None:
            set_status(fresh, "pending_review")


def click_product(post_id: str, index: int, viewer: Account | None) -> None:
    post = get_visible(post_id, viewer)
    if not 0 <= index < len(post.products):
        raise ApiError(404, "not_found", "no such product")
    Post.objects(id=post.id).update_one(**{f"inc__products__{index}__clicks": 1})
    if viewer is not None:
        signals.post_engaged.send(post, action="clicked_product", actor=viewer,
                                  who=f"a:{viewer.id}")
