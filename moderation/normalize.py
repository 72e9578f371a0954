"""Text normalization for term matching, with a map back to the original offsets.

Evaders write banned words so that a plain substring search misses them: full-width
letters, mixed case, zero-width characters, spaces or dots between Chinese characters
(``法 轮``, ``法.轮``, ``法\u200b轮``), traditional characters (``法輪``), accents, letters
spaced out (``s.p.a.m``) or Cyrillic look-alikes inside a Latin word. ``normalize`` folds all of
these to one canonical string, and keeps for every character of it the index of the original
character it came from, so a match can be highlighted in the text the author wrote.

What is folded, and why it is safe for ordinary text:

- NFKD, combining marks dropped, NFKC, casefold: width, case, accents and compatibility
  forms (``Ｓｐａｍ``, ``ſpam``, ``spám`` -> ``spam``).
- Format characters (zero-width spaces and joiners, BOM, soft hyphen) and variation selectors
  are dropped: they are invisible, so they never separate words a reader sees.
- Traditional Han characters -> simplified, one character at a time (OpenCC's table).
- Between two Han/kana characters, every run of separators (spaces, punctuation, symbols,
  emoji) is dropped: Chinese and Japanese do not put spaces between words, so a separator
  there only ever splits a word on purpose or ends a clause. Clause ends are remembered
  (``breaks``): two clauses meeting by chance (``方法。轮到``) must not form a term.
- Elsewhere a run of separators becomes one space, and Latin words are matched whole
  (``spam`` does not match ``spammer``'s neighbour ``antispam``; see ``terms``).
- A run of three or more single letters or digits separated by separators (``s.p.a.m``,
  ``v i a g r a``) is joined into one word.
- Cyrillic and Greek look-alike letters inside a word that also has Latin letters are read as
  Latin (``spаm`` with a Cyrillic ``а``). Words wholly in another script are left alone.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field

# Clause and sentence punctuation as written in Chinese text, and (between Latin words) ASCII
# punctuation when a space follows it: a separator run containing one is a natural break.
_CJK_BREAKS = frozenset("。,、;:?!…‥—「」『』《》〈〉【】〔〕()“”‘’\n\r\u2028\u2029｡､")
_ASCII_BREAKS = frozenset(".,;:!?")

# Cyrillic and Greek letters that look like Latin ones (lower case; text is casefolded first).
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "α": "a", "β": "b", "ε": "e", "ι": "i",
    "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
})

_LOOKALIKE_CHARS = frozenset(chr(code) for code in _LOOKALIKES)

try:  # OpenCC is optional at import time so a broken wheel never takes the app down
    import opencc

    _T2S = opencc.OpenCC("t2s")
except Exception:  # pragma: no cover - exercised only without the package
    _T2S = None


def is_cjk(char: str) -> bool:
    """Han ideographs and Japanese kana: scripts written without spaces between words."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x3134F
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF
        or code == 0x3007
    )


def is_word(char: str) -> bool:
    """A letter or digit of a space-separated script (Latin, Cyrillic, Hangul, digits...)."""
    return char.isalnum() and not is_cjk(char)


@functools.lru_cache(maxsize=65536)
def fold_char(char: str) -> str:
    """The canonical form of one original character ("" when it is invisible)."""
    category = unicodedata.category(char)
    if category in ("Cf", "Mn", "Me", "Cc") and char not in "\n\r\t":
        return ""
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFKC", stripped).casefold()
    if _T2S is not None and len(folded) == 1 and is_cjk(folded):
        simplified = _T2S.convert(folded)
        if len(simplified) == 1:
            folded = simplified
    return folded


@dataclass
class Normalized:
    """The canonical text; ``index[i]`` is the original index of ``text[i]``.

    ``breaks`` holds the positions ``i`` in ``text`` where a natural clause break (Chinese
    punctuation, a line break, or ASCII punctuation followed by a space) was dropped or turned
    into a space just before ``text[i]``.
    """

    text: str
    index: list[int]
    breaks: set[int] = field(default_factory=set)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` offsets of the canonical ``[start, end)`` slice."""
        return self.index[start], self.index[end - 1] + 1

    def breaks_within(self, start: int, end: int) -> int:
        """How many natural breaks lie inside the canonical ``[start, end)`` slice."""
        return sum(1 for pos in self.breaks if start < pos < end)


def _is_break(original: str, pos: int, between_cjk: bool) -> bool:
    """Chinese text ends clauses with full-width marks; ``法. 轮`` is an evasion."""
    char = original[pos]
    if char in _CJK_BREAKS:
        return True
    if char in _ASCII_BREAKS and not between_cjk:
        return pos + 1 < len(original) and original[pos + 1].isspace()
    return False


def normalize(text: str) -> Normalized:
    """Fold ``text`` for matching; see the module docstring for every rule."""
    # 1. Fold each character, remembering where every output character came from.
    chars: list[str] = []
    origin: list[int] = []
    for pos, char in enumerate(text):
        for out in fold_char(char):
            chars.append(out)
            origin.append(pos)

    # 2. Separator runs: dropped between CJK characters, one space elsewhere.
    out_chars: list[str] = []
    out_index: list[int] = []
    breaks: set[int] = set()
    i, n = 0, len(chars)
    while i < n:
        if chars[i].isalnum():
            out_chars.append(chars[i])
            out_index.append(origin[i])
            i += 1
            continue
        j = i
        while j < n and not chars[j].isalnum():
            j += 1
        between_cjk = i > 0 and j < n and is_cjk(chars[i - 1]) and is_cjk(chars[j])
        if any(_is_break(text, p, between_cjk) for p in sorted(set(origin[i:j]))):
            breaks.add(len(out_chars))
        if i > 0 and j < n and not between_cjk:
            out_chars.append(" ")
            out_index.append(origin[i])
        i = j

    words = _join_spaced_letters(out_chars, out_index, breaks)
    _fold_lookalikes(words[0])
    return Normalized("".join(words[0]), words[1], words[2])


def _join_spaced_letters(
    chars: list[str], index: list[int], breaks: set[int]
) -> tuple[list[str], list[int], set[int]]:
    """Join runs of >= 3 one-character words (``s p a m`` -> ``spam``)."""
    text = "".join(chars)
    tokens = text.split(" ")
    if sum(1 for t in tokens if len(t) == 1) < 3:
        return chars, index, breaks
    keep = [True] * len(chars)
    pos = 0
    run: list[int] = []  # positions of the spaces inside the current run of single letters

    def close_run() -> None:
        if len(run) >= 2:  # two spaces = three letters
            for space in run:
                keep[space] = False
        run.clear()

    previous_single = False
    for token in tokens:
        single = len(token) == 1 and is_word(token)
        if single and previous_single:
            run.append(pos - 1)  # the space just before this token
        elif not single:
            close_run()
        previous_single = single
        pos += len(token) + 1
    close_run()
    if all(keep):
        return chars, index, breaks
    new_chars, new_index, new_breaks = [], [], set()
    for old, (char, idx) in enumerate(zip(chars, index, strict=False)):
        if old in breaks:
            new_breaks.add(len(new_chars))
        if keep[old]:
            new_chars.append(char)
            new_index.append(idx)
    return new_chars, new_index, new_breaks


def _fold_lookalikes(chars: list[str]) -> None:
    """Read Cyrillic/Greek look-alikes as Latin inside words that contain Latin letters."""
    if not _LOOKALIKE_CHARS.intersection(chars):
        return
    start = 0
    n = len(chars)
    while start < n:
        if not is_word(chars[start]):
            start += 1
            continue
        end = start
        while end < n and is_word(chars[end]):
            end += 1
        word = chars[start:end]
        if any("a" <= c <= "z" for c in word):
            for k in range(start, end):
                chars[k] = chars[k].translate(_LOOKALIKES)
        start = end
