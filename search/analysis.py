"""Our text analyzer: the same tokens Elasticsearch's ``cjk`` analyzer makes.

The embedded engine cannot run Lucene's analyzers, so we mirror them here and index the
resulting tokens: that way a query means the same thing on both engines. The chain is
Elasticsearch's documented rebuild of ``cjk`` (standard tokenizer, ``cjk_width``,
``lowercase``, ``cjk_bigram``, English stop words), with emoji dropped:

- NFKC folding: full-width Latin and digits become half-width (``ＺＡＲＡ`` -> ``zara``),
  half-width katakana become full-width;
- lowercase;
- a run of adjacent CJK characters (Han, kana, Hangul) becomes overlapping bigrams
  (``雅诗兰黛`` -> ``雅诗 诗兰 兰黛``); a CJK character standing alone stays a unigram;
- Latin, digits and other letters form words (``iphone15``, ``3.5``, ``l'oreal``);
- punctuation, symbols and emoji separate tokens and are dropped; English stop words too;
- Traditional Chinese is read as Simplified, character for character (``龍井`` -> ``龙井``), so
  either finds the other: OpenCC's ``t2s`` conversion of each character, one table shared with
  Elasticsearch's ``t2s`` mapping char filter (same length, so highlights stay in place);
- English words are stemmed with Snowball's English (Porter2) stemmer, Elasticsearch's
  ``porter2`` filter: ``teas`` and ``tea``, ``brewing`` and ``brew`` are one token.

``#tag`` in a query is not text: it asks for posts with that tag (``ParsedQuery.tags``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import opencc
import Stemmer

from app.errors import ApiError

#: Longest query we accept, in characters, before analysis.
MAX_QUERY_CHARS = 200
#: Longest token kept (Lucene's standard tokenizer splits at 255).
MAX_TOKEN_CHARS = 255

# Han (with extensions and compatibility ideographs, iteration marks), kana, Hangul.
_CJK = (
    "\u1100-\u11ff\u3005-\u3007\u3040-\u309f\u30a0-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff"
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"
)
_CJK_CHAR = f"[{_CJK}]"
# A word character that is not CJK (letters, digits, marks, underscore).
_WORD_CHAR = f"(?:(?!{_CJK_CHAR})\\w)"
# Words join across a single inner "." (and "'" between letters, "," between digits),
# as Unicode word segmentation (UAX #29) does: "3.5", "l'oreal", "1,000", "zara.com".
_WORD = (
    f"{_WORD_CHAR}+(?:(?:\\.|(?<=[^\\W\\d_])['\u2019](?=[^\\W\\d_])|(?<=\\d),(?=\\d))"
    f"{_WORD_CHAR}+)*"
)
_TOKEN_RE = re.compile(f"(?P<cjk>{_CJK_CHAR}+)|(?P<word>{_WORD})")
_ALNUM_RE = re.compile(r"[^\W_]")

#: Elasticsearch's ``_english_`` stop words, which its ``cjk`` analyzer removes.
STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
    "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "will", "with",
))


# Where Traditional characters live: CJK Extension A, the URO, compatibility ideographs.
_T2S_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


@cache
def t2s_table() -> dict[int, str]:
    """Traditional to Simplified, one character for one (OpenCC ``t2s`` of each character
    alone; phrase rules would change lengths, and Elasticsearch's mapping char filter takes
    the same table: ``elastic.index_settings``). About 4,200 entries, built once (0.1 s)."""
    converter = opencc.OpenCC("t2s")
    table = {}
    for low, high in _T2S_RANGES:
        for code in range(low, high):
            simplified = converter.convert(chr(code))
            if len(simplified) == 1 and simplified != chr(code):
                table[code] = simplified
    return table


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters read as Simplified (same length)."""
    return text.translate(t2s_table())


_stemmer = Stemmer.Stemmer("english")
_stem_word = lru_cache(maxsize=65536)(_stemmer.stemWord)


def stem(word: str) -> str:
    """A (lowercased) word's English stem: ``teas`` -> ``tea``, ``brewing`` -> ``brew``."""
    return _stem_word(word) if word.isascii() else word


def normalize(text: str) -> str:
    """Width-fold, lowercase and Simplified: the form every token and tag is compared in."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


def tokens(text: str | None) -> list[str]:
    """The analyzed tokens of ``text`` in order, duplicates kept (term frequency counts)."""
    if not text:
        return []
    out: list[str] = []
    for match in _TOKEN_RE.finditer(normalize(text)):
        run = match.group("cjk")
        if run is not None:
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i:i + 2] for i in range(len(run) - 1))
            continue
        word = match.group("word")
        if word in STOP_WORDS or not _ALNUM_RE.search(word):
            continue
        out.append(stem(word[:MAX_TOKEN_CHARS]))
    return out


_USERNAME_SEPARATORS = re.compile(r"[_.]")


def username_text(username: str | None) -> str:
    """A username as searched: ``zara_official`` reads as ``zara official`` (same length)."""
    return _USERNAME_SEPARATORS.sub(" ", username or "")


def username_tokens(username: str | None) -> list[str]:
    """Tokens of a username field: its parts, so ``zara`` finds ``zara_official``."""
    return tokens(username_text(username))


def is_cjk_token(token: str) -> bool:
    return bool(re.match(_CJK_CHAR, token))


def normalize_tag(tag: str) -> str:
    """A tag as stored and filtered: folded, lowercased, without ``#`` and outer spaces."""
    return " ".join(normalize(tag).strip().lstrip("#").split())


def normalize_prefix(text: str) -> str:
    """A name or typed prefix for suggestions: folded, lowercased, spaces collapsed."""
    return " ".join(normalize(text).replace("@", " ").split())


#: Longest prefix indexed for suggestions (longer input is cut to this).
MAX_PREFIX_CHARS = 20


def prefix_tokens(*names: str | None) -> list[str]:
    """Edge n-grams for suggestions: every prefix of each whole name and of each word in it.

    ``"ZARA Official"`` gives ``z, za, zar, zara, "zara ", ..., o, of, ...``; a Chinese
    name gives its character prefixes (``雅, 雅诗, 雅诗兰, ...``).
    """
    seen: dict[str, None] = {}
    for name in names:
        if not name:
            continue
        whole = normalize_prefix(name)
        parts = [whole, *re.split(r"[\W_]+", whole)]
        for part in parts:
            part = part.strip()
            for end in range(1, min(len(part), MAX_PREFIX_CHARS) + 1):
                seen.setdefault(part[:end], None)
    return list(seen)


# --- queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuery:
    """A validated query: the text as typed (without its ``#tags``), its analyzed tokens,
    and the tags it asks for (normalized; a post must carry all of them)."""

    text: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...] = ()

    @property
    def minimum_should_match(self) -> int:
        return minimum_should_match(len(self.tokens))

    @cached_property
    def username_tokens(self) -> tuple[str, ...]:
        """The query as the username field analyzes it (a separate analyzer group)."""
        if "_" not in self.text and "." not in self.text:
            return self.tokens  # username_text changes nothing
        return _query_tokens(username_text(self.text))


#: The ``minimum_should_match`` both engines use: up to 2 tokens all must match,
#: beyond that 75% (rounded down), as Elasticsearch evaluates ``"2<75%"``.
MINIMUM_SHOULD_MATCH = "2<75%"


def minimum_should_match(count: int) -> int:
    """How many of ``count`` query tokens a document must contain (ES ``"2<75%"``)."""
    if count <= 2:
        return count
    return max(1, (count * 75) // 100)


# A hashtag: "#" then everything up to a space or the next "#" (full-width "＃" too).
_HASHTAG_RE = re.compile(r"[#\uff03]([^\s#\uff03]+)")
MAX_QUERY_TAGS = 5


def parse_query(q: str | None) -> ParsedQuery:
    """Validate and analyze a search query; empty or absurdly long queries are a 400.

    ``#tag`` words become tag filters and leave the text: ``连衣裙 #穿搭`` searches posts
    tagged 穿搭 for 连衣裙; ``#穿搭`` alone lists the posts tagged 穿搭.
    """
    text = (q or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(400, "invalid_query", f"q is longer than {MAX_QUERY_CHARS} characters",
                       {"q": [f"at most {MAX_QUERY_CHARS} characters"]})
    tags = tuple(dict.fromkeys(t for t in map(normalize_tag, _HASHTAG_RE.findall(text))
                               if _ALNUM_RE.search(t)))
    if len(tags) > MAX_QUERY_TAGS:
        raise ApiError(400, "invalid_query", f"q has more than {MAX_QUERY_TAGS} #tags",
                       {"q": [f"at most {MAX_QUERY_TAGS} #tags"]})
    if tags:
        text = " ".join(_HASHTAG_RE.sub(" ", text).split())
    found = _query_tokens(text)
    if not found and not tags:
        raise ApiError(400, "invalid_query", "q has nothing to search for",
                       {"q": ["needs at least one letter, digit or CJK character"]})
    return ParsedQuery(text, found, tags)


@lru_cache(maxsize=4096)
def _query_tokens(text: str) -> tuple[str, ...]:
    """A query's tokens, remembered: popular queries repeat and analysis is Python."""
    return tuple(tokens(text))


def parse_prefix(q: str | None) -> str:
    """Validate a suggestion prefix; empty or absurdly long input is a 400."""
    text = (q or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(400, "invalid_query", f"q is longer than {MAX_QUERY_CHARS} characters",
                       {"q": [f"at most {MAX_QUERY_CHARS} characters"]})
    prefix = normalize_prefix(text)[:MAX_PREFIX_CHARS].strip()
    if not prefix or not _ALNUM_RE.search(prefix):
        raise ApiError(400, "invalid_query", "q has nothing to search for",
                       {"q": ["needs at least one letter, digit or CJK character"]})
    return prefix
