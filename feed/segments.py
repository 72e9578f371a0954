"""Behaviour segments: a merchant's or influencer's fans picked by rules, kept current by events.

Rules (all must hold) are a list of conditions: ``{"gender": "female"}``, ``{"interests_any":
[...]}``, ``{"followed_within_days": N}`` and ``{"action": viewed|liked|commented|
clicked_product|joined_campaign, "within_days": N}`` on the owner's content.

Redis keeps, per owner and action, a sorted set of fan -> last time (``seg:{owner}:<action>``,
and ``seg:{owner}:followed``), written by the events themselves (``post_engaged``,
``followed``/``unfollowed``, a published campaign entry), so a fan who has just liked a post is
in "liked this week" at once. All of an owner's keys share its Redis Cluster slot.

Membership of one fan (a post's ``audience: {"segment_id"}``, a page layout keyed by segment
id) is one ZSCORE per behaviour rule plus the fan's profile. The segment's members (``size``)
are the intersection of the behaviour rules' time ranges, smallest first, then the profile
rules; a segment of profile rules only ranges over the owner's followers. ARCHITECTURE.md says
how this scales to 10M-follower merchants.
"""

from __future__ import annotations

import time
from typing import Any

from bson import ObjectId
from flask import current_app

from app.accounts import service as accounts
from app.accounts.models import Account
from app.errors import ApiError
from app.extensions import redis_client
from app.jobs import enqueue
from app.pagination import newest_first
from feed import audience, cache, graph
from feed.models import Campaign, Post, Segment

ACTIONS = ("viewed", "liked", "commented", "clicked_product", "joined_campaign")
KEEP_DAYS = 90  # the longest window a rule may ask for
OWNER_KINDS = ("merchant", "influencer")


def action_key(owner_id: object, action: str) -> str:
    return f"seg:{{{owner_id}}}:{action}"


# --- rules ---------------------------------------------------------------------------------


def normalize_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated rules in their stored form (400 for a rule we do not know)."""
    out: list[dict[str, Any]] = []
    for n, rule in enumerate(rules):
        if "action" in rule:
            out.append({"action": rule["action"], "within_days": rule["within_days"]})
        elif "gender" in rule:
            out.append({"gender": rule["gender"]})
        elif "interests_any" in rule:
            out.append({"interests_any": sorted({i.strip().lower() for i in rule["interests_any"]
                                                 if i.strip()})})
        elif "followed_within_days" in rule:
            out.append({"followed_within_days": rule["followed_within_days"]})
        else:
            raise ApiError(400, "validation_error", "unknown rule",
                           {"rules": [f"rule {n}: gender, interests_any, followed_within_days "
                                      "or action"]})
    return out


def _windows(rules: list[dict]) -> list[tuple[str, float]]:
    """(Redis key suffix, lower time bound) of each behaviour rule."""
    now = time.time()
    found = []
    for rule in rules:
        if "action" in rule:
            found.append((rule["action"], now - rule["within_days"] * 86400))
        elif "followed_within_days" in rule:
            found.append(("followed", now - rule["followed_within_days"] * 86400))
    return found


def _profile_ok(rules: list[dict], profile: dict | None) -> bool:
    for rule in rules:
        if "gender" in rule and (profile or {}).get("gender") != rule["gender"]:
            return False
        if "interests_any" in rule and not set(rule["interests_any"]) & set(
                (profile or {}).get("interests") or ()):
            return False
    return True


# --- service -----------------------------------------------------------------------------


def _owned(owner: Account, segment_id: str) -> Segment:
    segment = Segment.objects(id=segment_id).first() if ObjectId.is_valid(segment_id) else None
    if segment is None or segment.owner != owner.id:
        raise ApiError(404, "not_found", "no such segment")
    return segment


def _check_owner(owner: Account) -> None:
    if owner.kind not in OWNER_KINDS:
        raise ApiError(403, "forbidden", "segments are for merchants and influencers")


def create(owner: Account, data: dict[str, Any]) -> Segment:
    _check_owner(owner)
    return Segment(owner=owner.id, name=data["name"],
                   rules=normalize_rules(data["rules"])).save()


def get(owner: Account, segment_id: str) -> Segment:
    _check_owner(owner)
    return _owned(owner, segment_id)


def update(owner: Account, segment_id: str, changes: dict[str, Any]) -> Segment:
    segment = get(owner, segment_id)
    if "name" in changes:
        segment.name = changes["name"]
    if "rules" in changes:
        segment.rules = normalize_rules(changes["rules"])
    segment.save()
    return segment


def delete(owner: Account, segment_id: str) -> None:
    get(owner, segment_id).delete()


def page(owner: Account, limit: int, cursor: str | None) -> dict[str, Any]:
    _check_owner(owner)
    rows, next_cursor = newest_first(Segment.objects(owner=owner.id), limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


def members(segment: Segment) -> set[str]:
    """The fans in the segment now."""
    windows = _windows(segment.rules)
    found: set[str] | None = None
    if windows:
        pipe = redis_client.pipeline(transaction=False)
        for action, since in windows:
            pipe.zrangebyscore(action_key(segment.owner, action), since * 1000, "+inf")
        for ids in sorted(pipe.execute(), key=len):  # smallest first
            found = set(ids) if found is None else found & set(ids)
            if not found:
                return set()
    else:  # profile rules only: the owner's followers
        found = set(graph.follower_ids(segment.owner))
    profile_rules = [r for r in segment.rules if "gender" in r or "interests_any" in r]
    if not profile_rules or not found:
        return found or set()
    people = accounts.get_many(list(found))
    return {i for i in found if i in people
            and _profile_ok(profile_rules, audience.profile_of(people[i]))}


def is_member(segment_id: str, profile: dict | None) -> bool:
    """Whether the viewer of ``profile`` (which carries its ``id``) is in the segment now."""
    if not profile or not profile.get("id") or not ObjectId.is_valid(segment_id):
        return False
    segment = _cached(segment_id)
    if segment is None:
        return False
    owner, rules = segment
    if not _profile_ok(rules, profile):
        return False
    windows = _windows(rules)
    if not windows:  # profile rules only: over the owner's followers
        return graph.is_following(profile["id"], owner)
    pipe = redis_client.pipeline(transaction=False)
    for action, _ in windows:
        pipe.zscore(action_key(owner, action), profile["id"])
    return all(score is not None and score >= since * 1000
               for score, (_, since) in zip(pipe.execute(), windows))


_SEGMENTS: dict[str, tuple[float, tuple[str, list[dict]] | None]] = {}


def _cached(segment_id: str) -> tuple[str, list[dict]] | None:
    """A segment's owner and rules, kept for a few seconds in this process (read per post
    and viewer when a post targets a segment)."""
    hit = _SEGMENTS.get(segment_id)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    segment = Segment.objects(id=segment_id).first()
    value = (str(segment.owner), list(segment.rules)) if segment else None
    if len(_SEGMENTS) > 10_000:
        _SEGMENTS.clear()
    _SEGMENTS[segment_id] = (time.monotonic() + 5.0, value)
    return value


def owned_segment(owner: Account, segment_id: str) -> None:
    """A post's ``audience.segment_id`` must be one of the author's segments (400)."""
    segment = Segment.objects(id=segment_id).first() if ObjectId.is_valid(segment_id) else None
    if segment is None or segment.owner != owner.id:
        raise ApiError(400, "validation_error", "not one of your segments",
                       {"audience": {"segment_id": ["not one of your segments"]}})


def size_key(segment: Segment) -> str:
    return f"seg:{{{segment.owner}}}:size:{segment.id}"


def size(segment: Segment) -> tuple[int, bool]:
    """(size, exact). Exact (counted now) while the segment's smallest input is at most
    ``SEGMENT_EXACT_MAX`` fans; above that the last count a job made (``SEGMENT_SIZE_SECONDS``
    old at most), or the smallest input's size as an upper bound until the first count."""
    windows = _windows(segment.rules)
    if windows:
        pipe = redis_client.pipeline(transaction=False)
        for action, since in windows:
            pipe.zcount(action_key(segment.owner, action), since * 1000, "+inf")
        smallest = min(pipe.execute())
    else:
        owner = accounts.get(segment.owner)
        smallest = owner.followers_count if owner is not None else 0
    if smallest <= current_app.config["SEGMENT_EXACT_MAX"]:
        return len(members(segment)), True
    cached = redis_client.get(size_key(segment))
    if cache.claim(size_key(segment), current_app.config["SEGMENT_SIZE_SECONDS"]):
        enqueue("feed.tasks.count_segment", str(segment.id))
    return (int(cached), False) if cached is not None else (smallest, False)


def count(segment_id: str) -> int | None:
    """The job behind a large segment's ``size``: count it and keep the count."""
    segment = Segment.objects(id=segment_id).first() if ObjectId.is_valid(segment_id) else None
    if segment is None:
        return None
    found = len(members(segment))
    redis_client.set(size_key(segment), found,
                     ex=4 * current_app.config["SEGMENT_SIZE_SECONDS"])
    return found


def sized(segment: Segment) -> Segment:
    """The segment with its ``size`` and ``size_exact`` now (not stored): a single segment's
    answer carries them, a list's items do not."""
    segment.size, segment.size_exact = size(segment)
    return segment


# --- events --------------------------------------------------------------------------------


def _record(owner_id: object, action: str, fan_id: object) -> None:
    key = action_key(owner_id, action)
    now_ms = int(time.time() * 1000)
    pipe = redis_client.pipeline(transaction=False)
    pipe.zadd(key, {str(fan_id): now_ms})
    pipe.zremrangebyscore(key, "-inf", now_ms - KEEP_DAYS * 86400 * 1000)
    pipe.execute()


def on_post_engaged(post: Post, action: str, actor: Account | None = None, **_: Any) -> None:
    if actor is not None and actor.id != post.author and action in ACTIONS:
        _record(post.author, action, actor.id)


def on_followed(follower: Account, target: Account | None = None, **_: Any) -> None:
    if target is not None:
        _record(target.id, "followed", follower.id)


def on_unfollowed(follower: Account, target: Account | None = None, **_: Any) -> None:
    if target is not None:
        redis_client.zrem(action_key(target.id, "followed"), str(follower.id))


def on_post_saved(post: Post, before: str | None = None, **_: Any) -> None:
    """A fan's entry into a campaign (once published) joins the merchant's campaign set."""
    if post.campaign_id and post.status == "published" and before != "published":
        campaign = Campaign.objects(id=post.campaign_id).only("merchant").first()
        if campaign is not None:
            _record(campaign.merchant, "joined_campaign", post.author)
