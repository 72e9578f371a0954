"""Fan video campaigns: a merchant asks for endorsement videos, fans post them, moderators
approve them, the gallery fills up.

A fan joins by posting ``kind: video`` with ``campaign_id`` (``feed.posts`` checks the window).
An *entry* is such a post once it is ``published`` (approved); held, rejected or removed ones
are not entries. Stats are computed from MongoDB so they always agree with the raw
documents; views are flushed from the Redis sketches first, as ``feed.stats`` does. The
public counts, read with every campaign, are counted the same way but kept in Redis until
an entry or an entrant changes (``counts``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from app import screening
from app.accounts import service as accounts
from app.accounts.models import Account
from app.api import Shown
from app.errors import ApiError
from app.extensions import redis_client
from app.pagination import (
    count_part,
    decode_cursor,
    encode_cursor,
    id_part,
    int_part,
    ms_part,
    one_of,
)
from app.times import as_utc, from_ms, iso, utcnow
from feed import cache, timeline
from feed.interactions import flush_views
from feed.models import Campaign, Follow, Post

SORTS = ("new", "views")
STATES = ("upcoming", "active", "ended")


# --- lifecycle -----------------------------------------------------------------------------


def normalize_tag(tag: str) -> str:
    """``#夏日穿搭 `` -> ``夏日穿搭`` (the same rule as post tags)."""
    return tag.strip().lstrip("#").strip().lower()


def create(merchant: Account, data: dict[str, Any]) -> Campaign:
    """Only merchants run campaigns; the window must end after it starts, and in the future."""
    if merchant.kind != "merchant":
        raise ApiError(403, "forbidden", "only merchants run campaigns")
    tag = normalize_tag(data["tag"])
    if not tag:
        raise ApiError(400, "validation_error", "the campaign needs a tag", {"tag": ["empty tag"]})
    title, description = data["title"].strip(), (data.get("description") or "").strip()
    if screening.screen(merchant, "campaign", [title, description, tag]):
        # a campaign cannot wait for review (fans join it while it runs): refuse it
        raise ApiError(422, "content_blocked",
                       "the campaign contains words that need a moderator's review")
    _check_window(data["starts_at"], data["ends_at"])
    starts_at, ends_at = as_utc(data["starts_at"]), as_utc(data["ends_at"])
    if ends_at <= starts_at:
        raise ApiError(400, "validation_error", "the campaign must end after it starts",
                       {"ends_at": ["must be after starts_at"]})
    if ends_at <= utcnow():
        raise ApiError(400, "validation_error", "the campaign would already be over",
                       {"ends_at": ["must be in the future"]})
    campaign = Campaign(merchant=merchant.id, title=title, description=description, tag=tag,
                        starts_at=starts_at, ends_at=ends_at)
    campaign.save()
    return campaign


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    """A campaign ends within ``CAMPAIGN_MAX_DAYS`` from now and lasts at most as long: not
    in the year 9999 (compared as given, before any conversion a far date would overflow)."""
    days = int(current_app.config["CAMPAIGN_MAX_DAYS"])
    limit = timedelta(days=days)
    if ends_at - utcnow() > limit:
        raise ApiError(400, "validation_error", f"a campaign ends within {days} days",
                       {"ends_at": [f"at most {days} days from now"]})
    if ends_at - starts_at > limit:
        raise ApiError(400, "validation_error", f"a campaign lasts at most {days} days",
                       {"ends_at": [f"at most {days} days after starts_at"]})


def get(campaign_id: str) -> Campaign:
    """The campaign (404 if missing, or if its merchant is gone or suspended)."""
    campaign = Campaign.objects(id=campaign_id).first() if ObjectId.is_valid(campaign_id) else None
    if campaign is None:
        raise ApiError(404, "not_found", "no such campaign")
    merchant = accounts.get(campaign.merchant)
    if merchant is None or merchant.suspended:
        raise ApiError(404, "not_found", "no such campaign")
    return campaign


def state(campaign: Campaign, now: datetime | None = None) -> str:
    now = now or utcnow()
    if now < as_utc(campaign.starts_at):
        return "upcoming"
    if now < as_utc(campaign.ends_at):
        return "active"
    return "ended"


# --- entries and counts ----------------------------------------------------------------------


def _entries(campaign: Campaign):
    """Approved entries: published video posts of the campaign."""
    return Post.objects(campaign_id=campaign.id, kind="video", status="published")


def _live_authors(author_ids: set[str]) -> set[str]:
    found = accounts.get_many(list(author_ids))
    return {a for a, account in found.items() if not account.suspended}


RECOUNT_SECONDS = 30  # at most this long for one recount, before another request may try


def counts(campaign: Campaign) -> dict[str, int]:
    """``entries_count`` and ``participants_count`` (suspended fans' entries are hidden).

    Counting reads every entry, so the counts are kept with the campaign's version they
    were counted at. After a change one request recounts; others meanwhile get the counts
    from before the change (a popular campaign's readers never all recount at once).
    """
    key, version_key = cache.campaign_counts_key(campaign.id), cache.campaign_version_key(campaign.id)
    pipe = redis_client.pipeline(transaction=False)
    pipe.hgetall(key)
    pipe.get(version_key)
    kept, version = pipe.execute()
    version = version or "0"
    if kept and (kept["version"] == version or not cache.claim(key, RECOUNT_SECONDS)):
        return {"entries_count": int(kept["entries"]),
                "participants_count": int(kept["participants"])}
    rows = list(_entries(campaign).only("id", "author"))
    live = _live_authors({str(r.author) for r in rows})
    kept_rows = [r for r in rows if str(r.author) in live]
    found = {"entries_count": len(kept_rows),
             "participants_count": len({str(r.author) for r in kept_rows})}
    pipe = redis_client.pipeline(transaction=False)
    pipe.hset(key, mapping={"version": version, "entries": found["entries_count"],
                            "participants": found["participants_count"]})
    pipe.delete(cache.claim_key(key))
    pipe.execute()
    return found


def entries_changed(*campaign_ids: object) -> None:
    """The next read of these campaigns recounts (an entry or an entrant changed)."""
    pipe = redis_client.pipeline(transaction=False)
    for campaign_id in campaign_ids:
        pipe.incr(cache.campaign_version_key(campaign_id))
    pipe.execute()


def on_post_saved(post: Post, before: str | None = None, **_: Any) -> None:
    """``post_saved`` receiver: an entry was approved, held, removed or restored."""
    if post.campaign_id and post.status != before:
        entries_changed(post.campaign_id)


def on_post_deleted(post: Post, **_: Any) -> None:
    if post.campaign_id:
        entries_changed(post.campaign_id)


def on_account_changed(account: Account, **_: Any) -> None:
    """``account_changed`` receiver: a suspended (or reinstated) fan's entries leave (or
    rejoin) the counts of every campaign the fan entered."""
    joined = Post.objects(author=account.id, campaign_id__ne=None).distinct("campaign_id")
    if joined:
        entries_changed(*joined)


def shown(campaign: Campaign, now: datetime | None = None,
          merchant: Account | None = None) -> Shown:
    """The campaign with its merchant's account (just the id once gone), its state and
    counts: what ``CampaignSchema`` dumps."""
    merchant = merchant or accounts.get(campaign.merchant)
    return Shown(campaign, merchant=merchant or {"id": str(campaign.merchant)},
                 description=campaign.description or "", state=state(campaign, now),
                 **counts(campaign))


def entries(campaign: Campaign, viewer: Account | None, sort: str = "new", limit: int = 20,
            cursor: str | None = None) -> dict[str, Any]:
    """One page of the gallery: approved entries the viewer may see, newest or most viewed
    first. ``views`` orders by the flushed unique-view counts (``VIEW_FLUSH_SECONDS`` behind
    the live counter at most). The cursor is ``[sort, key, id]``."""
    if sort not in SORTS:
        raise ApiError(400, "validation_error", "unknown sort", {"sort": [f"one of {SORTS}"]})
    decoded = decode_cursor(cursor, (one_of(sort), ms_part if sort == "new" else count_part,
                                     id_part))
    bound = None if decoded is None else decoded[1:]
    if sort == "new":
        found, more = timeline.keyset_posts(_entries(campaign), viewer, limit, "created_at",
                                            bound, lambda post: cache.score(post.created_at),
                                            from_ms)
    else:
        found, more = timeline.keyset_posts(_entries(campaign), viewer, limit, "view_count",
                                            bound, lambda post: post.view_count)
    next_cursor = encode_cursor([sort, *found[-1][1]]) if found and more else None
    return {"items": [item for item, _ in found], "next_cursor": next_cursor}


# --- a merchant's campaigns ---------------------------------------------------------------------


def _order_key(campaign: Campaign, now: datetime) -> list:
    """Active first (ending soonest), then upcoming (starting soonest), then ended (latest)."""
    current = state(campaign, now)
    if current == "active":
        return [0, int(as_utc(campaign.ends_at).timestamp() * 1000), str(campaign.id)]
    if current == "upcoming":
        return [1, int(as_utc(campaign.starts_at).timestamp() * 1000), str(campaign.id)]
    return [2, -int(as_utc(campaign.ends_at).timestamp() * 1000), str(campaign.id)]


def account_campaigns(account: Account, limit: int = 20, cursor: str | None = None,
                      states: tuple[str, ...] = STATES) -> dict[str, Any]:
    """The merchant's campaigns, active first; other accounts have none."""
    bound = decode_cursor(cursor, (one_of(0, 1, 2), int_part, id_part))
    if account.kind != "merchant":
        return {"items": [], "next_cursor": None}
    now = utcnow()
    ranked = sorted(((_order_key(c, now), c) for c in Campaign.objects(merchant=account.id)
                     if state(c, now) in states), key=lambda pair: pair[0])
    if bound is not None:
        ranked = [pair for pair in ranked if pair[0] > bound]
    page = ranked[:limit]
    items = [shown(c, now, merchant=account) for _, c in page]
    more = len(ranked) > limit
    return {"items": items, "next_cursor": encode_cursor(page[-1][0]) if more and page else None}


# --- results -------------------------------------------------------------------------------------


def stats(campaign: Campaign, viewer: Account) -> dict[str, Any]:
    """Entries, participants, followers gained inside the window and views (owner only)."""
    if viewer.id != campaign.merchant:
        raise ApiError(403, "forbidden", "only the merchant that runs the campaign sees its stats")
    return results(campaign)


def results(campaign: Campaign) -> dict[str, Any]:
    """The campaign's figures, straight from the documents (the dashboard shows these too)."""
    flush_views()
    now = utcnow()
    submitted = list(Post.objects(campaign_id=campaign.id, kind="video")
                     .only("id", "author", "status", "view_count"))
    live = _live_authors({str(p.author) for p in submitted})
    approved = [p for p in submitted if p.status == "published" and str(p.author) in live]
    window_end = min(as_utc(campaign.ends_at), now)
    followers = Follow.objects(followee=campaign.merchant,
                               created_at__gte=as_utc(campaign.starts_at),
                               created_at__lt=window_end).count() \
        if window_end > as_utc(campaign.starts_at) else 0
    top = sorted(approved, key=lambda p: (-p.view_count, str(p.id)))[:10]
    return {
        "campaign_id": str(campaign.id),
        "title": campaign.title,
        "state": state(campaign, now),
        "starts_at": iso(campaign.starts_at),
        "ends_at": iso(campaign.ends_at),
        "entries": len(approved),
        "participants": len({str(p.author) for p in approved}),
        "new_followers": followers,
        "views": sum(p.view_count for p in approved),
        "submitted": len(submitted),
        "pending": sum(1 for p in submitted if p.status in ("processing", "pending_review")),
        "top_entries": [{"post_id": str(p.id), "author_id": str(p.author),
                         "views": p.view_count} for p in top],
    }
