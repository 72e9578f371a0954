"""What gets indexed: MongoDB posts and accounts turned into search documents.

This is where the visibility rules for search live: only ``published`` posts by merchants
and influencers who are not suspended, and merchant and influencer accounts that are not
suspended, become documents. Everything else is deleted from the index when it changes.
Audience-restricted posts are indexed with their audience so that a search shows them only
to viewers in that audience (and to their author).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import nh3

from app.times import as_utc
from search.analysis import normalize_tag
from search.engine import Viewer

INDEXED_AUTHOR_KINDS = frozenset({"merchant", "influencer"})
POST_KINDS = frozenset({"post", "video", "headline"})

#: Audience terms: restricted at all, any value of one condition, nobody but the author.
RESTRICTED = "restricted"
ANY = "*"
NOBODY = "-"

def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def plain_body(body_html: str | None, body: str | None) -> str:
    """The searchable text of a headline: its rendered HTML without tags, else its Markdown."""
    text = html.unescape(nh3.clean(body_html, tags=set())) if body_html else _text(body)
    return " ".join(text.split())  # one line: fragments read well wherever they are cut


def _audience_value(value: str) -> str:
    """Audience interests compare as the feed compares them: trimmed and lowercased."""
    return value.strip().lower()


def audience_dict(audience: Any) -> dict[str, Any] | None:
    """A post's audience (embedded document or dict) as a dict without empty conditions."""
    if not audience:
        return None
    if isinstance(audience, Mapping):
        raw = dict(audience)
    else:
        raw = {"gender": getattr(audience, "gender", None),
               "interests_any": list(getattr(audience, "interests_any", None) or [])}
    out = {key: value for key, value in raw.items() if value not in (None, "", [], {})}
    return out or None


def audience_terms(audience: Mapping[str, Any] | None) -> list[str]:
    """Encode a post's audience as keyword terms for filtering.

    No audience is no term at all. A restricted post carries ``restricted``, one gender term
    and its interest terms: ``{"gender": "female"}`` is ``["restricted", "g:female", "i:*"]``,
    ``{"interests_any": ["yoga"]}`` is ``["restricted", "g:*", "i:yoga"]``; both conditions
    must hold, as in the feed (:mod:`feed.audience`). Searches exclude the (few) restricted
    posts the viewer is not in, which is cheaper than requiring the (many) open ones. A rule
    we do not understand makes the post visible to nobody but its author: hiding is the safe
    mistake.
    """
    if not audience or all(v in (None, "", [], {}) for v in audience.values()):
        return []
    gender, interests = ANY, [ANY]
    for key, value in audience.items():
        if value in (None, "", [], {}):
            continue
        if key == "gender":
            gender = value.lower() if isinstance(value, str) else NOBODY
        elif key == "interests_any":
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                interests = sorted({_audience_value(v) for v in value if v.strip()}) or [NOBODY]
            else:
                interests = [NOBODY]
        else:
            gender = NOBODY
    return [RESTRICTED, f"g:{gender}", *(f"i:{interest}" for interest in interests)]


def viewer_from_account(account: Any | None) -> Viewer | None:
    """The audience-relevant facts about a signed-in account (``None`` when anonymous)."""
    if account is None:
        return None
    profile = getattr(account, "profile", None)
    if isinstance(profile, Mapping):
        gender, interests = profile.get("gender"), profile.get("interests")
    else:
        gender = getattr(profile, "gender", None)
        interests = getattr(profile, "interests", None)
    return Viewer(
        id=str(account.id),
        gender=gender.lower() if isinstance(gender, str) and gender else None,
        interests=tuple(sorted({_audience_value(i) for i in interests or ()
                                if isinstance(i, str) and i.strip()})),
    )


def viewer_gender_terms(viewer: Viewer) -> list[str]:
    """The gender terms of restricted posts this viewer may see."""
    return [f"g:{ANY}"] + ([f"g:{viewer.gender}"] if viewer.gender else [])


def viewer_interest_terms(viewer: Viewer) -> list[str]:
    """The interest terms of restricted posts this viewer may see."""
    return [f"i:{ANY}", *(f"i:{interest}" for interest in viewer.interests)]


def _when(value: Any) -> datetime:
    return as_utc(value) if isinstance(value, datetime) else datetime.now(UTC)


def _author_indexable(author: Any) -> bool:
    return (author is not None and getattr(author, "kind", None) in INDEXED_AUTHOR_KINDS
            and not getattr(author, "suspended", False))


def post_document(post: Any, author: Any) -> dict[str, Any] | None:
    """The search document of a post, or None when nobody but its author may find it.

    ``author`` is the post's Account (posts store only the author's id).
    """
    if post is None or getattr(post, "status", None) != "published":
        return None
    if getattr(post, "kind", None) not in POST_KINDS:
        return None
    if not _author_indexable(author):
        return None
    tags: list[str] = []
    for tag in getattr(post, "tags", None) or ():
        if isinstance(tag, str) and normalize_tag(tag) and normalize_tag(tag) not in tags:
            tags.append(normalize_tag(tag))
    return {
        "doc_type": "post",
        "id": str(post.id),
        "type": post.kind,
        "author_id": str(author.id),
        "author_username": _text(getattr(author, "username", "")),
        "author_name": _text(getattr(author, "display_name", "")),
        "author_kind": author.kind,
        "title": _text(getattr(post, "title", "")),
        "text": _text(getattr(post, "text", "")),
        "body": plain_body(getattr(post, "body_html", None), getattr(post, "body", None))
        if post.kind == "headline" else "",
        "tags": tags,
        "audience": audience_dict(getattr(post, "audience", None)),
        "created_at": _when(getattr(post, "created_at", None)),
    }


def account_document(account: Any) -> dict[str, Any] | None:
    """The search document of an account, or None for fans and suspended accounts."""
    if not _author_indexable(account):
        return None
    return {
        "doc_type": "account",
        "id": str(account.id),
        "type": "account",
        "kind": account.kind,
        "username": _text(getattr(account, "username", "")),
        "display_name": _text(getattr(account, "display_name", "")),
        "bio": _text(getattr(account, "bio", "")),
        "followers_count": int(getattr(account, "followers_count", 0) or 0),
        "verified": bool(getattr(account, "verified", False)),
        "created_at": _when(getattr(account, "created_at", None)),
    }


def to_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A document as JSON-safe data (datetimes as ISO 8601), for storing and answering."""
    out = dict(doc)
    if isinstance(out.get("created_at"), datetime):
        out["created_at"] = as_utc(out["created_at"]).isoformat().replace("+00:00", "Z")
    return out
