"""Term rules: ``block`` and ``review`` lists matched with one Aho-Corasick automaton.

The lists live in MongoDB (``TermRules``). Each process keeps the compiled automaton and the
revision it was built from; the current revision is in Redis, so an edit in one process is
picked up by every web and worker process on its next check (one Redis GET per check).

Text and terms are both folded by ``normalize`` (evasions), and every match is mapped back
to offsets in the original text so a moderator's view can highlight it.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import asdict, dataclass, field

import ahocorasick
import redis
from markupsafe import escape

from app.errors import ApiError
from app.extensions import redis_client
from app.times import utcnow
from moderation.models import TermRules
from moderation.normalize import Normalized, is_word, normalize

REVISION_KEY = "moderation:terms:revision"
MAX_TERMS = 5000
MAX_TERM_LENGTH = 64
_EMPTY = "empty"
_RANK = {"allow": 0, "review": 1, "block": 2}


@dataclass(frozen=True)
class Match:
    """One term found in one of the texts; ``start``/``end`` index the original text."""

    term: str
    list: str  # the list the term is on: block | review
    text_index: int
    start: int
    end: int


@dataclass
class Verdict:
    """The outcome of checking texts: the strongest action and what caused it."""

    action: str = "allow"  # allow | review | block
    terms: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    @property
    def needs_review(self) -> bool:
        return self.action == "review"

    def to_dict(self) -> dict:
        return {"action": self.action, "terms": list(self.terms),
                "matches": [asdict(m) for m in self.matches]}


class Matcher:
    """A compiled automaton for one revision of the lists (block wins over review)."""

    def __init__(self, block: list[str] | tuple = (), review: list[str] | tuple = ()) -> None:
        entries: dict[str, tuple[str, str]] = {}
        for list_name, terms in (("review", review), ("block", block)):
            for term in terms:
                key = normalize(term).text.strip()
                if key:
                    entries[key] = (term, list_name)
        self.size = len(entries)
        self._automaton = ahocorasick.Automaton()
        for key, (term, list_name) in entries.items():
            self._automaton.add_word(key, (key, term, list_name))
        if entries:
            self._automaton.make_automaton()

    def find(self, text: str, text_index: int = 0) -> list[Match]:
        """Every term occurrence in ``text``; Latin-script terms only as whole words."""
        if not self.size or not text:
            return []
        norm = normalize(text)
        found: list[Match] = []
        for end, (key, term, list_name) in self._automaton.iter(norm.text):
            start = end - len(key) + 1
            if not _whole_word(norm, key, start, end + 1):
                continue
            if norm.breaks_within(start, end + 1) == 1:
                # Two clauses meeting by chance (方法。轮到, "buy. Followers"). Two or more
                # breaks inside one term mean clauses made only of its letters: an evasion.
                continue
            orig_start, orig_end = norm.span(start, end + 1)
            found.append(Match(term, list_name, text_index, orig_start, orig_end))
        return found


def _whole_word(norm: Normalized, key: str, start: int, end: int) -> bool:
    text = norm.text
    if is_word(key[0]) and start > 0 and is_word(text[start - 1]):
        return False
    return not (is_word(key[-1]) and end < len(text) and is_word(text[end]))


# -- the per-process cache -------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[str, Matcher] | None = None


def _load() -> tuple[str, Matcher]:
    rules = TermRules.objects(id="terms").first()
    if rules is None:
        return _EMPTY, Matcher()
    return rules.revision, Matcher(rules.block, rules.review)


def current_matcher() -> Matcher:
    """The matcher for the lists' current revision, compiled at most once per revision."""
    global _cached
    try:
        revision = redis_client.get(REVISION_KEY)
        redis_up = True
    except redis.RedisError:
        revision, redis_up = None, False
    cached = _cached
    if cached is not None and (cached[0] == revision or (not redis_up)):
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and cached[0] == revision:
            return cached[1]
        loaded_revision, matcher = _load()
        if redis_up and loaded_revision != revision:
            # MongoDB is the truth: a missing or stale key (Redis restarted) is repaired.
            with contextlib.suppress(redis.RedisError):
                redis_client.set(REVISION_KEY, loaded_revision)
        _cached = (loaded_revision, matcher)
        return matcher


def check_text(*texts: str | None) -> Verdict:
    """Check one or more texts of one piece of content (title, body, ...) against the lists."""
    matcher = current_matcher()
    verdict = Verdict()
    for index, text in enumerate(texts):
        if text:
            verdict.matches.extend(matcher.find(text, index))
    for match in verdict.matches:
        if _RANK[match.list] > _RANK[verdict.action]:
            verdict.action = match.list
        if match.term not in verdict.terms:
            verdict.terms.append(match.term)
    return verdict


# -- editing the lists ------------------------------------------------------------------

def _clean(terms: list[str], name: str) -> list[str]:
    if len(terms) > MAX_TERMS:
        raise ApiError(400, "validation_error", "too many terms",
                       {name: [f"at most {MAX_TERMS} terms"]})
    cleaned: list[str] = []
    seen: set[str] = set()
    for term in terms:
        term = term.strip()
        if not term:
            continue
        if len(term) > MAX_TERM_LENGTH:
            raise ApiError(400, "validation_error", "term too long",
                           {name: [f"{term[:20]}...: at most {MAX_TERM_LENGTH} characters"]})
        key = normalize(term).text.strip()
        if not key:
            raise ApiError(400, "validation_error", "term has no letters",
                           {name: [f"{term!r} has nothing to match"]})
        if key not in seen:
            seen.add(key)
            cleaned.append(term)
    return cleaned


def get_terms() -> dict[str, list[str]]:
    rules = TermRules.objects(id="terms").first()
    return {"block": list(rules.block) if rules else [],
            "review": list(rules.review) if rules else []}


def set_terms(block: list[str], review: list[str], updated_by: str | None = None) -> dict:
    """Replace both lists; every process sees the new lists on its next check."""
    block = _clean(block, "block")
    review = _clean(review, "review")
    revision = uuid.uuid4().hex
    TermRules(id="terms", block=block, review=review, revision=revision,
              updated_at=utcnow(), updated_by=updated_by).save()
    redis_client.set(REVISION_KEY, revision)
    return {"block": block, "review": review}


def highlight_html(text: str, matches: list[Match], text_index: int = 0) -> str:
    """``text`` HTML-escaped with each match of ``text_index`` wrapped in ``<mark>``."""
    spans = sorted((m.start, m.end) for m in matches if m.text_index == text_index)
    out, pos = [], 0
    for start, end in spans:
        if start < pos:  # overlapping matches: extend the open mark
            if end > pos:
                out.insert(-1, str(escape(text[pos:end])))
                pos = end
            continue
        out.append(str(escape(text[pos:start])))
        out.append("<mark>")
        out.append(str(escape(text[start:end])))
        out.append("</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return "".join(out)
