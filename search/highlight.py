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
  lowercasing a long Chinese text costs several times more than searching it. Query words
  are stems, so the pattern is the stem less its last letter (Porter2 turns ``lily`` into
  ``lili``, ``caring`` into ``care``) running on to the end of the word, and a word counts
  when it is the token or has it as its stem (``tea`` marks ``Teas``);
- Traditional characters are folded to Simplified (the analyzer's table), character for
  character, so ``龍井`` is marked for the query ``龙井``;
- other words (``l'oréal``) are found in the lowercased text, made only for them.

The output is HTML: the text is escaped, only ``<em>`` and ``</em>`` are ours.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from search.analysis import _CJK_CHAR, _WORD_CHAR, is_cjk_token, stem, to_simplified

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
    """Where a word that may have this stem starts, in unfolded text: each letter of the
    stem (less its last, which stemming may have changed) in either case, then the rest of
    the word."""
    parts = []
    for char in (token[:-1] if len(token) >= 4 else token):
        if char.isalpha():
            extra = _KELVIN if char == "k" else ""
            parts.append(f"[{char}{char.upper()}{extra}]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts) + f"{_WORD_CHAR}*")


def _is_form(word: str, token: str) -> bool:
    """A word found by a stem's case pattern is that token, or a form with that stem."""
    word = word.lower()
    return word == token or stem(word) == token


class Terms:
    """A query's tokens sorted by how they are found and which boundary rule applies.

    Each finder is (token or bound ``search`` of its case pattern, length, boundary class).
    """

    __slots__ = ("cased", "checks", "folded", "lowered", "plain")

    #: cased: (bound ``search`` of the case pattern, token length, token) for ASCII words

    def __init__(self, tokens: tuple[str, ...]) -> None:
        checks: list[_Check] = []
        for token in dict.fromkeys(tokens):
            if not is_cjk_token(token):
                checks.append((token, _WORD_EDGE))
            elif len(token) == 1:
                checks.append((token, _CJK_EDGE))
            else:
                checks.append((token, None))
        self.checks = tuple(checks)
        #: for text already folded: every token but ASCII words (case patterns find those)
        self.folded = tuple((t, len(t), e) for t, e in checks
                            if e is not _WORD_EDGE or not t.isascii())
        #: for unfolded text: CJK tokens (found as they are), ASCII words (case patterns),
        #: other words (found in the lowercased text)
        self.plain = tuple((t, len(t), e) for t, e in checks if e is not _WORD_EDGE)
        self.cased = tuple((_case_pattern(t).search, len(t), t) for t, e in checks
                           if e is _WORD_EDGE and t.isascii())
        self.lowered = tuple((t, len(t), e) for t, e in checks
                             if e is _WORD_EDGE and not t.isascii())

    def __bool__(self) -> bool:
        return bool(self.checks)


@lru_cache(maxsize=4096)
def compile_tokens(tokens: tuple[str, ...]) -> Terms:
    """Sort a query's tokens by the boundary rule that applies to them (memoized by
    tokens: a :class:`Terms` never changes, and popular queries repeat)."""
    return Terms(tokens)


def fold(text: str) -> str:
    """Lowercase and half-width, character for character (same length as ``text``)."""
    folded = text.lower()
    if len(folded) != len(text):  # a few characters lowercase to two ("İ")
        folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return to_simplified(_FULL_WIDTH_RE.sub(_half, folded))


def _render(text: str, spans: list[tuple[int, int]], lo: int, hi: int) -> str:
    """``text[lo:hi]`` as HTML with ``spans`` (in order, disjoint, starting in
    ``[lo, hi)``; the last may end beyond ``hi``) in ``<em>``."""
    piece = text[lo:hi]
    if "&" in piece or "<" in piece or ">" in piece:
        out = []
        at = lo
        for start, end in spans:
            end = min(end, hi)
            out += (escape(text[at:start], quote=False), "<em>",
                    escape(text[start:end], quote=False), "</em>")
            at = end
        out.append(escape(text[at:hi], quote=False))
        return "".join(out)
    if len(spans) == 1:
        start, end = spans[0]
        end = min(end, hi)
        return f"{text[lo:start]}<em>{text[start:end]}</em>{text[end:hi]}"
    out = []
    at = lo
    for start, end in spans:
        end = min(end, hi)
        out += (text[at:start], "<em>", text[start:end], "</em>")
        at = end
    out.append(text[at:hi])
    return "".join(out)


def mark(text: str, terms: Terms, whole: bool, folded: str | None = None,
         match_text: str | None = None) -> str | None:
    """:func:`highlight` for text whose fold the index already settled: ``folded`` is the
    stored fold, None when folding the text is the same as lowercasing it (what
    :meth:`search.embedded.to_tantivy` guarantees for every field it does not store).

    One function on purpose: it runs for every field of every hit, and Python calls cost
    more here than the searches (done in C by ``str.find`` and the case patterns).
    A match counts only on token boundaries (``edge`` is the class a neighbour must not
    be in; None: anywhere).
    """
    if not text or terms is None or not terms.checks:
        return None
    cased = terms.cased
    if folded is not None:
        haystack, finds, lowered = folded, terms.folded, ()
    else:
        haystack = match_text if match_text is not None else text
        finds, lowered = terms.plain, terms.lowered
    size = len(haystack)
    lowered_text = haystack.lower() if lowered else ""
    limit = WHOLE_MAX_CHARS if whole else FRAGMENT_CHARS
    if size <= limit:
        lo, start, hi = 0, 0, size
    else:
        # Where the earliest match starts; each token's search stops at the best so far.
        best = size
        for token, length, edge in finds:
            stop = best + length - 1
            at = haystack.find(token, 0, stop)
            while at != -1:
                end = at + length
                if edge is None or not ((at and edge[haystack[at - 1]])
                                        or (end < size and edge[haystack[end]])):
                    best = at
                    break
                at = haystack.find(token, at + 1, stop)
        for search, _length, token in cased:
            match = search(haystack, 0)
            while match is not None and match.start() < best:
                at = match.start()
                if not (at and _WORD_EDGE[haystack[at - 1]]) and _is_form(match.group(), token):
                    best = at
                    break
                match = search(haystack, max(match.end(), at + 1))
        for token, length, edge in lowered:
            stop = best + length - 1
            at = lowered_text.find(token, 0, stop)
            while at != -1:
                end = at + length
                if not ((at and edge[lowered_text[at - 1]])
                        or (end < size and edge[lowered_text[end]])):
                    best = at
                    break
                at = lowered_text.find(token, at + 1, stop)
        if best == size:
            return None
        lo = 0 if whole else max(0, best - _LEAD_CHARS)
        hi = min(size, lo + limit)
        if best >= hi:  # the only matches lie beyond a whole field's cut
            return None
        start = best  # nothing starts in [lo, best)
    # Every match starting in [start, hi).
    found = []
    for token, length, edge in finds:
        stop = hi + length - 1
        at = haystack.find(token, start, stop)
        while at != -1:
            end = at + length
            if edge is None or not ((at and edge[haystack[at - 1]])
                                    or (end < size and edge[haystack[end]])):
                found.append((at, end))
            at = haystack.find(token, at + 1, stop)
    for search, _length, token in cased:
        match = search(haystack, start)
        while match is not None and match.start() < hi:
            at = match.start()
            if not (at and _WORD_EDGE[haystack[at - 1]]) and _is_form(match.group(), token):
                found.append((at, match.end()))
            match = search(haystack, max(match.end(), at + 1))
    for token, length, edge in lowered:
        stop = hi + length - 1
        at = lowered_text.find(token, start, stop)
        while at != -1:
            end = at + length
            if not ((at and edge[lowered_text[at - 1]])
                    or (end < size and edge[lowered_text[end]])):
                found.append((at, end))
            at = lowered_text.find(token, at + 1, stop)
    if not found:
        return None
    if len(found) == 1:  # the usual case, rendered here
        piece = text[lo:hi]
        if "&" not in piece and "<" not in piece and ">" not in piece:
            start, end = found[0]
            end = min(end, hi)
            html = f"{text[lo:start]}<em>{text[start:end]}</em>{text[end:hi]}"
            if lo == 0 and hi == size:
                return html
            return ("…" if lo > 0 else "") + html + ("…" if hi < size else "")
    else:  # in order, overlapping or touching ones merged
        found.sort()
        piece = text[lo:hi]
        if "&" not in piece and "<" not in piece and ">" not in piece:
            # merged and rendered in one pass (no escaping): only the last span can end
            # beyond ``hi``, as every match starts before it
            out = []
            at = lo
            begin, last = found[0]
            for match_at, end in found:
                if match_at <= last:
                    if end > last:
                        last = end
                else:
                    out += (text[at:begin], "<em>", text[begin:last], "</em>")
                    at = last
                    begin, last = match_at, end
            if last > hi:
                last = hi
            out += (text[at:begin], "<em>", text[begin:last], "</em>", text[last:hi])
            html = "".join(out)
            if lo == 0 and hi == size:
                return html
            return ("…" if lo > 0 else "") + html + ("…" if hi < size else "")
        spans = []
        begin, last = found[0]
        for at, end in found:
            if at <= last:
                if end > last:
                    last = end
            else:
                spans.append((begin, last))
                begin, last = at, end
        spans.append((begin, last))
        found = spans
    html = _render(text, found, lo, hi)
    if lo == 0 and hi == size:
        return html
    return ("…" if lo > 0 else "") + html + ("…" if hi < size else "")


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
