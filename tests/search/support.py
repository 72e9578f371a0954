"""Search documents for tests, shaped exactly as search.documents builds them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from search.analysis import normalize_tag

NOW = datetime.now(UTC).replace(microsecond=0)
_ids = itertools.count(1)


def post(text: str = "", *, kind: str = "post", title: str = "", body: str = "",
         tags: tuple[str, ...] = (), author: str = "lily", author_id: str | None = None,
         audience: dict | None = None, age: timedelta = timedelta(hours=1),
         post_id: str | None = None) -> dict:
    """A post document as search.documents.post_document builds it."""
    return {
        "doc_type": "post",
        "id": post_id or f"p{next(_ids):04d}",
        "type": kind,
        "author_id": author_id or f"id-{author}",
        "author_username": author,
        "author_name": author.title(),
        "author_kind": "influencer",
        "title": title,
        "text": text,
        "body": body,
        "tags": [normalize_tag(t) for t in tags],
        "audience": audience,
        "created_at": NOW - age,
    }


def account(username: str, display_name: str, *, bio: str = "", followers: int = 0,
            kind: str = "merchant", account_id: str | None = None) -> dict:
    return {
        "doc_type": "account",
        "id": account_id or f"id-{username}",
        "type": "account",
        "kind": kind,
        "username": username,
        "display_name": display_name,
        "bio": bio,
        "followers_count": followers,
        "verified": False,
        "created_at": NOW - timedelta(days=100),
    }
