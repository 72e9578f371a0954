"""Highlighting for the embedded engine: the matched terms of the original text in ``<em>``.

Highlighting runs for every field of every hit of every search (about 40 fields and 25,000
characters a page), so it never re-analyzes the text and does as little per character in
Python as it can. A match is a query token found in the text folded the cheap way that keeps
every character in place (lowercase, full-width ASCII to half-width), and it counts only on
token boundaries: bigrams anywhere, a lone CJK character outside a CJK run, a word between
non-word characters. Only the part of a long field around the first match is shown.

The embedded index stores the fold of a field only where it differs from ``lower()``
(full-width text, a few odd letters), so most text is matched without folding at all:

- CJK tokens are found in the original text with ``str.find``: lowercasing never changes a
  CJK character and never makes one, so positions and boundaries are the same;
- ASCII words are found with a small per-token pattern of case pairs (``[Zz][Aa][Rr][Aa]``;
  ``k`` also matches the Kelvin sign, the one non-ASCII character that lowercases to ASCII):
  lowercasing a long Chinese text costs several times more than searching it;
- other words (``l'oréal``) are found in the lowercased text, made only for them.

The output is HTML: the text is escaped, only ``<em>`` and ``</em>`` are ours.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from search.analysis import _CJK_CHAR, _WORD_CHAR, is_cjk_token

#: Characters around the first match in a body fragment.
FRAGMENT_CHARS = 120
_LEAD_CHARS = 30
#: Short fields (titles, names) are highlighted whole up to this length.
WHOLE_MAX_CHARS = 300

# Full-width letters, digits and the joiners tokens can contain ("." and "'"); full-width
# punctuation such as "，" never is part of a token, and Chinese text is full of it.
_FULL_WIDTH_RE = re.compile("[\uff07\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_KELVIN = "\u212a"


class _CharClass(dict[str, bool]):
    """Whether a character is in a class, remembered per character (a dict lookup is far
    cheaper than a regex match, and texts use few distinct characters)."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self._pattern = re.compile(pattern)

    def __missing__(self, char: str) -> bool:
        found = self[char] = self._pattern.match(char) is not None
        return found


# Neighbours that make a match not a token: word characters around a word, CJK around a
# lone CJK character. Both classes are the same for a character and its lowercase.
_WORD_EDGE = _CharClass(_WORD_CHAR)
_CJK_EDGE = _CharClass(_CJK_CHAR)

# (token, boundary class or None for anywhere)
_Check = tuple[str, _CharClass | None]


def _half(match: re.Match[str]) -> str:
    return chr(ord(match.group()) - 0xFEE0)


@lru_cache(maxsize=4096)
def _case_pattern(token: str) -> re.Pattern[str]:
    """Where an ASCII token occurs in unfolded text: each letter in either case."""
    parts = []
    for char in token:
        if char.isalpha():
            extra = _KELVIN if char == "k" else ""
            parts.append(f"[{char}{char.upper()}{extra}]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts))


class Terms:
    """A query's tokens sorted by how they are found and which boundary rule applies."""

    __slots__ = ("cased", "checks", "lowered", "plain")

    def __init__(self, tokens: tuple[str, ...]) -> None:
        checks: list[_Check] = []
        for token in dict.fromkeys(tokens):
            if not is_cjk_token(token):
                checks.append((token, _WORD_EDGE))
            elif len(token) == 1:
                checks.append((token, _CJK_EDGE))
            else:
                checks.append((token, None))
        #: every token, for text already folded
        self.checks = tuple(checks)
        #: for unfolded text: CJK tokens (found as they are), ASCII words (case patterns),
        #: other words (found in the lowercased text)
        self.plain = tuple(c for c in checks if c[1] is not _WORD_EDGE)
        self.cased = tuple((_case_pattern(t), len(t), e) for t, e in checks
                           if e is _WORD_EDGE and t.isascii())
        self.lowered = tuple(c for c in checks if c[1] is _WORD_EDGE and not c[0].isascii())

    def __bool__(self) -> bool:
        return bool(self.checks)


def compile_tokens(tokens: tuple[str, ...]) -> Terms:
    """Sort a query's tokens by the boundary rule that applies to them."""
    return Terms(tokens)


def fold(text: str) -> str:
    """Lowercase and half-width, character for character (same length as ``text``)."""
    folded = text.lower()
    if len(folded) != len(text):  # a few characters lowercase to two ("İ")
        folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return _FULL_WIDTH_RE.sub(_half, folded)


def _is_token(text: str, begin: int, end: int, edge: _CharClass) -> bool:
    return not ((begin and edge[text[begin - 1]]) or (end < len(text) and edge[text[end]]))


def _find(text: str, checks: tuple[_Check, ...], lo: int, hi: int,
          found: list[tuple[int, int]]) -> None:
    """Add the matches of ``checks`` in ``text`` that start in ``[lo, hi)``."""
    for token, edge in checks:
        size = len(token)
        stop = hi + size - 1
        at = text.find(token, lo, stop)
        while at != -1:
            if edge is None or _is_token(text, at, at + size, edge):
                found.append((at, at + size))
            at = text.find(token, at + 1, stop)


def _find_cased(text: str, cased: tuple[tuple[re.Pattern[str], int, _CharClass], ...],
                lo: int, hi: int, found: list[tuple[int, int]]) -> None:
    for pattern, size, edge in cased:
        stop = min(len(text), hi + size - 1)
        match = pattern.search(text, lo, stop)
        while match is not None:
            at = match.start()
            if _is_token(text, at, at + size, edge):
                found.append((at, at + size))
            match = pattern.search(text, at + 1, stop)


def _matches(text: str, folded: bool, terms: Terms, lo: int, hi: int
             ) -> list[tuple[int, int]]:
    """Matches starting in ``[lo, hi)`` of ``text`` (folded, or as stored when the index
    found folding it the same as lowercasing it), in order, overlapping ones merged."""
    found: list[tuple[int, int]] = []
    if folded:
        _find(text, terms.checks, lo, hi, found)
    else:
        if terms.plain:
            _find(text, terms.plain, lo, hi, found)
        if terms.cased:
            _find_cased(text, terms.cased, lo, hi, found)
        if terms.lowered:
            _find(text.lower(), terms.lowered, lo, hi, found)
    if len(found) < 2:
        return found
    found.sort()
    spans = [found[0]]
    for begin, end in found:
        last_begin, last_end = spans[-1]
        if begin <= last_end:
            if end > last_end:
                spans[-1] = (last_begin, end)
        else:
            spans.append((begin, end))
    return spans


def _first_match(text: str, folded: bool, terms: Terms) -> int:
    """Where the earliest match starts (-1: nowhere); each token's search stops at the best
    start found so far."""
    size = len(text)
    best = size
    if folded:
        for token, edge in terms.checks:
            best = _first(text, token, edge, best)
        return -1 if best == size else best
    for token, edge in terms.plain:
        best = _first(text, token, edge, best)
    for pattern, length, edge in terms.cased:
        match = pattern.search(text, 0, min(size, best + length - 1))
        while match is not None:
            at = match.start()
            if _is_token(text, at, at + length, edge):
                best = at
                break
            match = pattern.search(text, at + 1, min(size, best + length - 1))
    if terms.lowered:
        lowered = text.lower()
        for token, edge in terms.lowered:
            best = _first(lowered, token, edge, best)
    return -1 if best == size else best


def _first(text: str, token: str, edge: _CharClass | None, limit: int) -> int:
    """The first match of ``token`` starting before ``limit``, else ``limit``."""
    size = len(token)
    stop = limit + size - 1
    at = text.find(token, 0, stop)
    while at != -1:
        if edge is None or _is_token(text, at, at + size, edge):
            return at
        at = text.find(token, at + 1, stop)
    return limit


def _render(text: str, spans: list[tuple[int, int]], lo: int, hi: int) -> str:
    piece = text if lo == 0 and hi == len(text) else text[lo:hi]
    clean = "&" not in piece and "<" not in piece and ">" not in piece
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


def mark(text: str, terms: Terms, whole: bool, folded: str | None = None,
         match_text: str | None = None) -> str | None:
    """:func:`highlight` for text whose fold the index already settled: ``folded`` is the
    stored fold, None when folding the text is the same as lowercasing it (what
    :meth:`search.embedded.to_tantivy` guarantees for every field it does not store)."""
    if not text or not terms:
        return None
    haystack = folded if folded is not None else (
        match_text if match_text is not None else text)
    is_folded = folded is not None
    size = len(text)
    if size <= (WHOLE_MAX_CHARS if whole else FRAGMENT_CHARS):
        spans = _matches(haystack, is_folded, terms, 0, size)
        return _render(text, spans, 0, size) if spans else None
    first = _first_match(haystack, is_folded, terms)
    if first == -1:
        return None
    lo = 0 if whole else max(0, first - _LEAD_CHARS)
    hi = min(size, lo + (WHOLE_MAX_CHARS if whole else FRAGMENT_CHARS))
    spans = _matches(haystack, is_folded, terms, lo, hi)
    if not spans:  # the only matches lie beyond a whole field's cut
        return None
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < size else ""
    return prefix + _render(text, spans, lo, hi) + suffix


def highlight(text: str | None, terms: Terms | None, whole: bool = False,
              match_text: str | None = None, folded: str | None = None) -> str | None:
    """An HTML fragment of ``text`` with matches in ``<em>``, or None when nothing matched.

    ``match_text`` (same length as ``text``) is what is searched when the field is analyzed
    differently, e.g. a username with ``_`` read as a space; ``folded`` is its :func:`fold`
    when already known.
    """
    if not text or not terms:
        return None
    haystack = match_text if match_text is not None else text
    if folded is None or len(folded) != len(text):
        folded = fold(haystack)
    return mark(text, terms, whole, folded=folded)
