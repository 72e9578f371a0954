"""The for-you ranking: pure functions on in-memory data, called by ``GET /feed/for_you``
(``feed/foryou.py``) and by the ranking-quality bench (``bench/foryou_quality.py``) alike.

A viewer's interests are decayed sums: each action adds ``weight * exp((t - EPOCH) / tau)``
to a tag's (and an author's) raw score; the value now is the raw score divided by the same
factor of now, so old tastes fade without rewriting anything (``INTEREST_HALF_LIFE``).

A candidate's score is how much the viewer wants it times how good it looks, plus a little
freshness (``want * (0.2 + popularity + velocity) + freshness``, weighted by ``MIX``; tuned
with ``bench/foryou_quality.py``: multiplying keeps a popular post outside the viewer's tastes
below a good one inside them). The parts, each scaled to 0..1:

- interest: how much the viewer likes the post's tags (declared ones count as a like a
  day), relative to the viewer's strongest taste;
- author: the viewer's affinity with the author (likes, comments, views, follows);
- popularity: its unique views, likes and comments (against the best at hand);
- velocity: that engagement per hour since publication, against the author's usual rate
  (a small account's breakout beats a big account's routine post);
- freshness: halves every ``FRESH_HALF_LIFE``;
- relation: the viewer follows the author.

Seen posts sink (their score is multiplied by ``SEEN_FACTOR``); hidden authors never appear;
the same author never appears twice in a row.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the base of every decayed score
INTEREST_HALF_LIFE = 14 * 86400.0
FRESH_HALF_LIFE = 36 * 3600.0
SEEN_FACTOR = 0.02  # seen posts go below nearly everything unseen
#: What each action tells about a viewer's taste.
ACTION_WEIGHTS = {"viewed": 1.0, "liked": 3.0, "commented": 4.0, "clicked_product": 4.0,
                  "followed": 5.0, "declared": 3.0}
#: How a post's unique engagement is counted for its velocity.
ENGAGEMENT_WEIGHTS = {"views": 0.2, "likes": 1.0, "comments": 2.0}
MIX = {"interest": 1.0, "author": 1.0, "velocity": 0.3, "popularity": 1.0, "freshness": 0.02,
       "relation": 2.0}

_TAU = INTEREST_HALF_LIFE / math.log(2)


def growth(ts: float) -> float:
    """The factor an action at ``ts`` is weighted by (and a raw score divided by, to read it
    at ``ts``)."""
    return math.exp((ts - EPOCH) / _TAU)


def learned(weight: float, ts: float) -> float:
    """What one action at ``ts`` adds to a raw interest score."""
    return weight * growth(ts)


@dataclass(slots=True)
class Candidate:
    id: str
    author: str
    tags: tuple[str, ...]
    created: float  # Unix seconds
    views: int = 0
    likes: int = 0
    comments: int = 0
    source: str = "fresh"  # followed | interest | trending | similar_fans | fresh

    @property
    def engagement(self) -> float:
        w = ENGAGEMENT_WEIGHTS
        return self.views * w["views"] + self.likes * w["likes"] + self.comments * w["comments"]


@dataclass(slots=True)
class ViewerTaste:
    """What the ranking knows of one viewer, values read now (raw / growth(now))."""

    tags: dict[str, float] = field(default_factory=dict)
    authors: dict[str, float] = field(default_factory=dict)
    following: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)
    self_id: str | None = None


@dataclass(slots=True)
class Ranked:
    id: str
    author: str
    score: float
    reason: str  # followed | interest | trending | similar_fans
    tag: str | None = None  # the interest behind an ``interest`` reason


def with_declared(tags: dict[str, float], declared: Iterable[str], now: float) -> dict[str, float]:
    """Declared interests (``profile.interests``) count as a like a day, never fading."""
    out = dict(tags)
    for tag in declared:
        out[tag] = out.get(tag, 0.0) + ACTION_WEIGHTS["declared"]
    return out


def gather(*pools: Iterable[Candidate]) -> list[Candidate]:
    """Candidates from several sources (followed, interest, trending, fresh, ...), each post
    once, labelled by the first source that brought it."""
    found: dict[str, Candidate] = {}
    for pool in pools:
        for c in pool:
            found.setdefault(c.id, c)
    return list(found.values())


def _rate(c: Candidate, now: float) -> float:
    hours = max(1.0, (now - c.created) / 3600.0)
    return c.engagement / hours


def author_usual(candidates: Iterable[Candidate], now: float) -> dict[str, float]:
    """Each author's usual engagement per hour: the mean over their posts at hand."""
    sums: dict[str, list[float]] = {}
    for c in candidates:
        entry = sums.setdefault(c.author, [0.0, 0])
        entry[0] += _rate(c, now)
        entry[1] += 1
    return {author: total / count for author, (total, count) in sums.items()}


def rank(candidates: Iterable[Candidate], taste: ViewerTaste, now: float,
         limit: int = 300, diverse: bool = True) -> list[Ranked]:
    """The viewer's ranking: best first, no author twice in a row (unless ``diverse`` is
    off: one author's page ranks that author's posts), hidden authors gone."""
    pool = [c for c in {c.id: c for c in candidates}.values()
            if c.author not in taste.hidden and c.author != taste.self_id]
    if not pool:
        return []
    usual = author_usual(pool, now)
    log_top = math.log1p(max(c.engagement for c in pool)) or 1.0
    top_tag = max(taste.tags.values(), default=0.0) or 1.0
    top_author = max(taste.authors.values(), default=0.0) or 1.0
    fresh_tau = FRESH_HALF_LIFE / math.log(2)
    log10 = math.log1p(10.0)
    scored: list[tuple[float, int, Ranked]] = []
    for n, c in enumerate(pool):
        best_tag, interest = None, 0.0
        for tag in c.tags:
            value = taste.tags.get(tag, 0.0)
            if value > interest:
                best_tag, interest = tag, value
        interest /= top_tag
        author = taste.authors.get(c.author, 0.0) / top_author
        rate = _rate(c, now)
        velocity = min(1.0, math.log1p(rate / (usual[c.author] + 0.5)) / log10)
        popularity = math.log1p(c.engagement) / log_top
        freshness = math.exp(-max(0.0, now - c.created) / fresh_tau)
        relation = 1.0 if c.author in taste.following else 0.0
        parts = {"interest": MIX["interest"] * interest, "author": MIX["author"] * author,
                 "velocity": MIX["velocity"] * velocity,
                 "popularity": MIX["popularity"] * popularity,
                 "freshness": MIX["freshness"] * freshness,
                 "relation": MIX["relation"] * relation}
        # how much the viewer wants it, times how good it looks: a popular post outside
        # the viewer's tastes stays below a good one inside them
        want = parts["interest"] + parts["author"] + parts["relation"]
        score = (want + 0.1) * (0.2 + parts["popularity"] + parts["velocity"]) \
            + parts["freshness"]
        if c.id in taste.seen:
            score *= SEEN_FACTOR
        if relation and parts["relation"] + parts["author"] >= parts["interest"]:
            reason = "followed"
        elif interest >= 0.25:
            reason = "interest"
        elif c.source == "similar_fans":
            reason = "similar_fans"
        else:
            reason = "trending"
        scored.append((-score, n, Ranked(c.id, c.author, score, reason,
                                         best_tag if reason == "interest" else None)))
    best = heapq.nsmallest(min(len(scored), limit * 2), scored)
    if not diverse:
        return [r for _, _, r in best[:limit]]
    return diversify([r for _, _, r in best], limit)


def diversify(ranked: list[Ranked], limit: int) -> list[Ranked]:
    """Best first, but never the same author twice in a row: the best item of another
    author moves up. When one author holds more than the others can separate, that author
    goes first whenever allowed, so as few as possible are left over (and dropped)."""
    out: list[Ranked] = []
    pending = list(ranked)
    while pending and len(out) < limit:
        last = out[-1].author if out else None
        counts = Counter(item.author for item in pending)
        crowded, most = counts.most_common(1)[0]
        wanted = crowded if most > len(pending) - most + 1 and crowded != last else None
        for index, item in enumerate(pending):
            if item.author != last and (wanted is None or item.author == wanted):
                out.append(pending.pop(index))
                break
        else:
            break
    return out
