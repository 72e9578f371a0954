"""Highlighting for the embedded engine: the matched terms of the original text in ``<em>``.

Highlighting runs for every hit of every search, so it avoids both re-analyzing the text
(NFKC over a long article costs more than the search) and compiling a pattern per query.
The text is folded the cheap way that keeps every character in place (lowercase, full-width
ASCII to half-width), each query token is found with ``str.find``, and a match counts only
on token boundaries: bigrams anywhere, a lone CJK character outside a CJK run, a word
between non-word characters. Only the part of a long field around the first match is shown.

The output is HTML: the text is escaped, only ``<em>`` and ``</em>`` are ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from search.analysis import _CJK_CHAR, _WORD_CHAR, is_cjk_token

#: Characters around the first match in a body fragment.
FRAGMENT_CHARS = 120
_LEAD_CHARS = 30
#: Short fields (titles, names) are highlighted whole up to this length.
WHOLE_MAX_CHARS = 300

_WORD_CHAR_RE = re.compile(_WORD_CHAR)
_HTML_SPECIAL_RE = re.compile("[&<>]")
_CJK_CHAR_RE = re.compile(_CJK_CHAR)
# Full-width letters, digits and the joiners tokens can contain ("." and "'"); full-width
# punctuation such as "，" never is part of a token, and Chinese text is full of it.
_FULL_WIDTH_RE = re.compile("[\uff07\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _half(match: re.Match[str]) -> str:
    return chr(ord(match.group()) - 0xFEE0)


@dataclass(frozen=True)
class Terms:
    """The query tokens to mark, each with the pattern its neighbours must not match:
    None for CJK bigrams (anywhere), word characters for words, CJK for lone CJK
    characters."""

    checks: tuple[tuple[str, re.Pattern[str] | None], ...]

    def __bool__(self) -> bool:
        return bool(self.checks)


def compile_tokens(tokens: tuple[str, ...]) -> Terms:
    """Sort a query's tokens by the boundary rule that applies to them."""
    checks = []
    for token in dict.fromkeys(tokens):
        if not is_cjk_token(token):
            checks.append((token, _WORD_CHAR_RE))
        elif len(token) == 1:
            checks.append((token, _CJK_CHAR_RE))
        else:
            checks.append((token, None))
    return Terms(tuple(checks))


def fold(text: str) -> str:
    """Lowercase and half-width, character for character (same length as ``text``)."""
    folded = text.lower()
    if len(folded) != len(text):  # a few characters lowercase to two ("İ")
        folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return _FULL_WIDTH_RE.sub(_half, folded)


def _outside(text: str, begin: int, end: int, edge: re.Pattern[str]) -> bool:
    return not ((begin > 0 and edge.match(text, begin - 1))
                or (end < len(text) and edge.match(text, end)))


def _first(folded: str, token: str, edge: re.Pattern[str] | None, start: int = 0) -> int:
    """Where ``token`` first occurs on token boundaries at or after ``start`` (-1: nowhere)."""
    at = folded.find(token, start)
    while at != -1 and edge is not None and not _outside(folded, at, at + len(token), edge):
        at = folded.find(token, at + 1)
    return at


def _spans(folded: str, terms: Terms, lo: int = 0, hi: int | None = None
           ) -> list[tuple[int, int]]:
    """Matches of the terms starting in ``[lo, hi)``, overlapping ones merged."""
    hi = len(folded) if hi is None else hi
    found = []
    for token, edge in terms.checks:
        size = len(token)
        at = folded.find(token, lo)
        while at != -1 and at < hi:
            if edge is None or _outside(folded, at, at + size, edge):
                found.append((at, at + size))
            at = folded.find(token, at + 1)
    if len(found) > 1:
        found.sort()
    spans: list[tuple[int, int]] = []
    for begin, end in found:
        if spans and begin <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((begin, end))
    return spans


def _render(text: str, spans: list[tuple[int, int]], lo: int, hi: int) -> str:
    clean = _HTML_SPECIAL_RE.search(text, lo, hi) is None  # most text: nothing to escape
    out = []
    at = lo
    for start, end in spans:
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        if clean:
            out += (text[at:start], "<em>", text[start:end], "</em>")
        else:
            out += (escape(text[at:start], quote=False), "<em>",
                    escape(text[start:end], quote=False), "</em>")
        at = end
    out.append(text[at:hi] if clean else escape(text[at:hi], quote=False))
    return "".join(out)


def highlight(text: str | None, terms: Terms | None, whole: bool = False,
              match_text: str | None = None, folded: str | None = None) -> str | None:
    """An HTML fragment of ``text`` with matches in ``<em>``, or None when nothing matched.

    ``match_text`` (same length as ``text``) is what is searched when the field is analyzed
    differently, e.g. a username with ``_`` read as a space; ``folded`` is its :func:`fold`
    when already known (the embedded index stores it for full-width text).
    """
    if not text or not terms:
        return None
    haystack = match_text if match_text is not None else text
    if folded is None or len(folded) != len(text):
        folded = haystack.lower()
        if len(folded) != len(text) or _FULL_WIDTH_RE.search(folded):
            folded = fold(haystack)
    limit = WHOLE_MAX_CHARS if whole else FRAGMENT_CHARS
    if len(text) <= limit:
        spans = _spans(folded, terms)
        return _render(text, spans, 0, len(text)) if spans else None
    firsts = [at for at in (_first(folded, t, edge) for t, edge in terms.checks) if at != -1]
    if not firsts:
        return None
    lo = 0 if whole else max(0, min(firsts) - _LEAD_CHARS)
    hi = min(len(text), lo + limit)
    spans = _spans(folded, terms, lo, hi)
    if not spans:  # the only matches lie beyond a whole field's cut
        return None
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(text) else ""
    return prefix + _render(text, spans, lo, hi) + suffix
