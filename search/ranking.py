"""How results are ranked, shared by both engines so a query ranks the same on either.

Score = BM25 text relevance over weighted fields (each query token scored by its best field,
as Elasticsearch's ``cross_fields`` does) + a recency bonus for posts + a popularity bonus
for accounts. The bonuses are step functions over ranges (date ranges measured back from
the query's origin time, follower-count ranges): both engines express them as constant-score
range clauses, so they add exactly the same amount on either engine.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, timedelta
from itertools import repeat

#: Searched fields and their weights: titles and account names above tags above bodies.
FIELD_BOOSTS: dict[str, float] = {
    "title": 3.0,
    "display_name": 3.0,
    "username": 3.0,
    "tags_text": 2.0,
    "text": 1.0,
    "body": 1.0,
    "bio": 1.0,
    "kind_text": 0.5,
}

#: Words indexed with every post of a kind, so ``视频`` or ``video`` also finds videos
#: whose caption does not say so (ranked below posts that do).
KIND_WORDS: dict[str, str] = {
    "video": "视频 video",
    "headline": "头条 headline",
}

#: Fields highlighted per document type, in output order.
HIGHLIGHT_FIELDS: dict[str, tuple[str, ...]] = {
    "post": ("title", "text", "body"),
    "account": ("display_name", "username", "bio"),
}

#: Recency bonus for posts: (age at most, bonus); the bonuses add up, so a post from the
#: last day gets all four (1.5), one from this month 0.6, one from this year 0.3.
RECENCY_STEPS: tuple[tuple[timedelta, float], ...] = (
    (timedelta(days=1), 0.5),
    (timedelta(days=7), 0.4),
    (timedelta(days=30), 0.3),
    (timedelta(days=365), 0.3),
)

#: Popularity bonus for accounts: (followers at least, bonus), adding up to 1.0.
POPULARITY_STEPS: tuple[tuple[int, float], ...] = (
    (100, 0.3),
    (10_000, 0.3),
    (1_000_000, 0.4),
)


#: The most any document's bonuses can add (the embedded engine's exact rescoring needs it).
MAX_BONUS = max(sum(b for _, b in RECENCY_STEPS), sum(b for _, b in POPULARITY_STEPS))
# Step functions as sorted thresholds and the bonus at or beyond each (bisect, not loops:
# the embedded engine scores every fetched hit with these).
_AGES = [int(age.total_seconds()) for age, _ in sorted(RECENCY_STEPS)]
_AGE_BONUS = [sum(b for a, b in RECENCY_STEPS if a.total_seconds() >= age) for age in _AGES]
_AGE_BONUS.append(0.0)
# The same bonuses by how many creation-time bounds (origin - age) a post is at or after.
_BOUND_BONUS = [_AGE_BONUS[len(_AGES) - count] for count in range(len(_AGES) + 1)]
_FOLLOWERS = sorted(n for n, _ in POPULARITY_STEPS)
_FOLLOWER_BONUS = [0.0] + [sum(b for n, b in POPULARITY_STEPS if n <= at) for at in _FOLLOWERS]


def bonus(created_ts: int | None, followers: int | None, origin_ts: int) -> float:
    """What the recency and popularity steps add to one document's text score.

    The same amount the constant-score range clauses add on Elasticsearch: a post created
    at or after ``origin - age`` gets that step's bonus; an account with at least that many
    followers gets that step's bonus.
    """
    total = 0.0
    if created_ts is not None:
        total += _AGE_BONUS[bisect_left(_AGES, origin_ts - created_ts)]
    if followers is not None:
        total += _FOLLOWER_BONUS[bisect_right(_FOLLOWERS, followers)]
    return total


def recency_bonuses(created: list[int | None], origin_ts: int) -> list[float]:
    """:func:`bonus` for many documents' creation times at once (None: not a post, 0.0),
    the same floats; in C (``map``) when all are posts, the usual case."""
    if None in created:
        return [0.0 if ts is None else _AGE_BONUS[bisect_left(_AGES, origin_ts - ts)]
                for ts in created]
    return post_recency_bonuses(created, origin_ts)


def post_recency_bonuses(created: list[int], origin_ts: int) -> list[float]:
    """:func:`recency_bonuses` for creation times known to be all set (all posts)."""
    # the steps as creation-time bounds (ascending): bisect_left(_AGES, origin - ts) ages
    # are below origin - ts, i.e. bounds above ts; one C call per hit fewer than the ages
    bounds = [origin_ts - age for age in reversed(_AGES)]
    return list(map(_BOUND_BONUS.__getitem__, map(bisect_right, repeat(bounds), created)))


def origin_now() -> datetime:
    """The reference time for recency, rounded to the minute so pages agree and caches hit."""
    now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0)


def origin_from_cursor(value: object) -> datetime:
    """Decode an origin stored in a cursor (epoch seconds)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError("bad origin")
    return datetime.fromtimestamp(int(value), UTC)
