"""The embedded engine: a tantivy index under ``SEARCH_DIR``, same semantics as Elasticsearch.

Text is analyzed by :mod:`search.analysis` (our mirror of Elasticsearch's ``cjk`` analyzer)
and the tokens are indexed into whitespace-tokenized fields, so a query matches exactly what
it would match on Elasticsearch. Queries are built the way Elasticsearch's ``multi_match``
``cross_fields`` builds them (per token, the best weighted field; ``minimum_should_match``
over tokens), and ranked with the shared recency and popularity bonuses of
:mod:`search.ranking` (added by exact rescoring, see :meth:`EmbeddedEngine._ranked`).

Layout: ``SEARCH_DIR/CURRENT`` names the live index directory (``v<schema>-<stamp>``).
A rebuild writes a new directory and swaps ``CURRENT`` atomically, so searches never see a
half-built index; other processes' searches notice the swap within half a second, their
writes at once. Writes are serialized (one tantivy writer per index, across processes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime
from operator import add, itemgetter
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Document, FieldType, Index, Occur, Query

from app.iterables import batched
from app.times import as_utc
from search import analysis
from search.documents import (
    RESTRICTED,
    audience_terms,
    to_json,
    viewer_gender_terms,
    viewer_interest_terms,
)
from search.engine import (
    MAX_OFFSET,
    TYPES,
    BadCursor,
    Hit,
    Progress,
    SearchEngine,
    SearchPage,
    SearchRequest,
    SearchUnavailable,
    Suggestions,
    Viewer,
)
from search.highlight import compile_tokens, fold, mark
from search.ranking import (
    FIELD_BOOSTS,
    HIGHLIGHT_FIELDS,
    KIND_WORDS,
    MAX_BONUS,
    bonus,
    origin_from_cursor,
    origin_now,
    post_recency_bonuses,
    recency_bonuses,
)

log = logging.getLogger(__name__)

#: Bump when the schema changes: a new version starts an empty index (run a reindex).
SCHEMA_VERSION = 2
_CURSOR_ENGINE = "embedded"
_BATCH = 1000
_FIRST_FETCH = 128  # hits fetched for exact rescoring before trying more (covers ~93%)
_POINTER_CHECK_SECONDS = 0.5
_MAX_FETCH = 50_000
_WRITER_HEAP = 32_000_000
_REBUILD_HEAP = 128_000_000
_LOCK_WAIT_SECONDS = 10.0
_QUERY_MEMO_SIZE = 2048

_TEXT_FIELDS = tuple(FIELD_BOOSTS)

# BM25 normalizes a field's length by its average length. Lucene (Elasticsearch) averages
# over the documents that have the field; tantivy over all documents, so a field most
# documents lack (titles, account names) would look far longer than average wherever it is
# present, and lose to body text. A document without a field therefore carries, in that
# field, a filler of the field's typical length: a token no query can produce (analysis
# never emits control characters), which brings the average back to Lucene's.
FILLER = "\x00"
TYPICAL_TOKENS = {"title": 14, "display_name": 5, "username": 2, "tags_text": 3, "text": 30,
                  "body": 800, "bio": 20, "kind_text": 2}
_FILLERS = {name: " ".join([FILLER] * count) for name, count in TYPICAL_TOKENS.items()}
_POST_FIELDS = ("title", "tags_text", "text", "body", "kind_text")
_ACCOUNT_FIELDS = ("display_name", "username", "bio")
_FRAGMENT_FIELDS = ("text", "body", "bio")
_FOLDED_FIELDS = ("title", "text", "body", "display_name", "username", "bio")
# Highlighted fields per document type, each with whether it is shown whole.
_HIGHLIGHTS = {kind: tuple((name, name not in _FRAGMENT_FIELDS) for name in fields)
               for kind, fields in HIGHLIGHT_FIELDS.items()}


def build_schema() -> tantivy.Schema:
    """The index schema: keyword fields for filters, token fields for text, a stored source."""
    builder = tantivy.SchemaBuilder()
    for name in ("key", "doc_type", "type", "author", "author_id", "tag", "aud",
                 "suggest"):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    for name in _TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    builder.add_integer_field("created", indexed=True, fast=True)  # epoch seconds
    builder.add_unsigned_field("followers", indexed=True, fast=True)
    builder.add_bytes_field("src", stored=True)
    return builder.build()


def to_tantivy(doc: dict[str, Any]) -> Document:
    """One search document as a tantivy document (text fields hold our analyzer's tokens)."""
    out = Document()
    kind = doc["doc_type"]
    out.add_text("key", f"{kind}:{doc['id']}")
    out.add_text("doc_type", kind)
    out.add_text("type", doc["type"])
    for term in audience_terms(doc.get("audience")):
        out.add_text("aud", term)
    if kind == "post":
        out.add_text("author", doc["author_id"])
        out.add_text("author_id", doc["author_id"])
        if doc.get("author_username"):
            out.add_text("author", "@" + analysis.normalize(doc["author_username"]))
        for tag in doc.get("tags") or ():
            out.add_text("tag", tag)
        out.add_integer("created", _ts(doc["created_at"]))
        fields = {"title": doc.get("title"), "text": doc.get("text"), "body": doc.get("body"),
                  "tags_text": " ".join(doc.get("tags") or ()),
                  "kind_text": KIND_WORDS.get(doc["type"], "")}
    else:
        out.add_unsigned("followers", max(0, int(doc.get("followers_count") or 0)))
        for prefix in analysis.prefix_tokens(doc.get("username"), doc.get("display_name")):
            out.add_text("suggest", prefix)
        fields = {"display_name": doc.get("display_name"), "username": doc.get("username"),
                  "bio": doc.get("bio")}
    for name in _TEXT_FIELDS:
        if name == "username":
            found = analysis.username_tokens(fields.get(name))
        else:
            found = analysis.tokens(fields.get(name))
        out.add_text(name, " ".join(found) if found else _FILLERS[name])
    source = to_json(doc)
    folds = {}
    # Full-width text is folded once here, not per search; a field without a stored fold
    # folds the same as it lowercases, which highlight.mark relies on.
    for name in _FOLDED_FIELDS:
        value = doc.get(name)
        if value:
            matched = analysis.username_text(value) if name == "username" else value
            folded = fold(matched)
            if folded != matched.lower():
                folds[name] = folded
    if folds:
        source["_fold"] = folds
    out.add_bytes("src", json.dumps(source, ensure_ascii=False,
                                    separators=(",", ":")).encode())
    return out


class EmbeddedEngine(SearchEngine):
    """Tantivy under ``SEARCH_DIR``; safe to share between threads of one process."""

    name = "embedded"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.schema = build_schema()
        self._write_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._index: Index | None = None
        self._current: str | None = None
        self._current_mtime: int | None = None
        self._checked = 0.0
        # Built query parts by what they depend on (a tantivy query is immutable and needs
        # only the schema): popular searches and returning viewers skip rebuilding them.
        self._text_queries: _Memo = _Memo(_QUERY_MEMO_SIZE)
        self._hidden_filters: _Memo = _Memo(_QUERY_MEMO_SIZE)
        self._token_queries: _Memo = _Memo(4 * _QUERY_MEMO_SIZE)

    # --- opening and swapping -------------------------------------------------------

    @property
    def _pointer(self) -> Path:
        return self.directory / "CURRENT"

    def _new_dir(self) -> Path:
        stamp = time.strftime("%Y%m%d%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
        return self.directory / f"v{SCHEMA_VERSION}-{stamp}"

    def _create(self, path: Path) -> Index:
        path.mkdir(parents=True, exist_ok=True)
        return Index(self.schema, path=str(path), reuse=False)

    def _point_to(self, name: str) -> None:
        tmp = self._pointer.with_name(f"CURRENT.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(name)
        os.replace(tmp, self._pointer)

    def _live(self, fresh: bool = False) -> Index:
        """The live index, reopened when another process or a rebuild swapped it.

        Swaps in this process take effect at once; searches notice another process's swap
        within ``_POINTER_CHECK_SECONDS`` (``CURRENT`` is not stat-ed on every search);
        writes (``fresh``) always check, so none lands in a replaced index.
        """
        now = time.monotonic()
        if (self._index is not None and not fresh
                and now - self._checked < _POINTER_CHECK_SECONDS):
            return self._index
        try:
            mtime = self._pointer.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if self._index is not None and mtime == self._current_mtime:
            self._checked = now
            return self._index
        with self._open_lock:
            try:
                mtime = self._pointer.stat().st_mtime_ns
                name = self._pointer.read_text().strip()
            except FileNotFoundError:
                mtime, name = None, None
            if self._index is not None and name == self._current:
                self._current_mtime = mtime
                return self._index
            try:
                self._index, self._current = self._open_or_create(name)
            except (OSError, ValueError) as exc:
                raise SearchUnavailable(f"search index unusable: {exc}") from exc
            self._current_mtime = self._pointer.stat().st_mtime_ns
            self._checked = time.monotonic()
            return self._index

    def _open_or_create(self, name: str | None) -> tuple[Index, str]:
        if name and name.startswith(f"v{SCHEMA_VERSION}-"):
            path = self.directory / name
            if Index.exists(str(path)):
                return Index.open(str(path)), name
        if name:
            log.warning("search index %s is missing or from another schema; starting an empty "
                        "one (run `flask search reindex`)", name)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._new_dir()
        index = self._create(path)
        self._point_to(path.name)
        return index, path.name

    def _writer(self, index: Index, heap: int = _WRITER_HEAP, threads: int = 1):
        """A writer, waiting a little if another process holds the index lock."""
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        while True:
            try:
                return index.writer(heap_size=heap, num_threads=threads)
            except ValueError as exc:
                if "Lock" not in str(exc) or time.monotonic() > deadline:
                    raise SearchUnavailable(f"search index is locked: {exc}") from exc
                time.sleep(0.05)

    # --- writing ----------------------------------------------------------------------

    def index(self, docs: Iterable[dict[str, Any]]) -> int:
        return sum(self._write(batch) for batch in batched(docs, _BATCH))

    def _commit(self, write: Callable[[Any], None]) -> None:
        """One committed ``write(writer)`` to the live index (rolled back on failure); the
        writer is dropped (releasing tantivy's lock) before the index reloads."""
        with self._write_lock:
            index = self._live(fresh=True)
            writer = self._writer(index)
            try:
                write(writer)
                writer.commit()
            except ValueError as exc:
                writer.rollback()
                raise SearchUnavailable(f"search index write failed: {exc}") from exc
            finally:
                del writer
            index.reload()

    def _write(self, batch: list[dict[str, Any]]) -> int:
        converted = [to_tantivy(doc) for doc in batch]
        keys = [f"{doc['doc_type']}:{doc['id']}" for doc in batch]
        def write(writer: Any) -> None:
            for key, doc in zip(keys, converted, strict=True):
                writer.delete_documents_by_term("key", key)
                writer.add_document(doc)

        self._commit(write)
        return len(converted)

    def _delete_terms(self, field: str, values: list[str]) -> None:
        if not values:
            return
        def delete(writer: Any) -> None:
            for value in values:
                writer.delete_documents_by_term(field, value)

        self._commit(delete)

    def delete(self, doc_type: str, ids: Iterable[str]) -> None:
        self._delete_terms("key", [f"{doc_type}:{i}" for i in ids])

    def delete_author_posts(self, author_id: str) -> None:
        self._delete_terms("author_id", [str(author_id)])

    def recreate(self, docs: Iterable[dict[str, Any]], progress: Progress | None = None) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._new_dir()
        index = self._create(path)
        written = 0
        writer = self._writer(index, heap=_REBUILD_HEAP, threads=min(2, os.cpu_count() or 1))
        try:
            for chunk in batched(docs, _BATCH):
                for doc in chunk:
                    writer.add_document(to_tantivy(doc))
                written += len(chunk)
                if progress:
                    progress(len(chunk))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            del writer
            shutil.rmtree(path, ignore_errors=True)
            raise
        del writer
        with self._write_lock, self._open_lock:
            old = self._current
            self._point_to(path.name)
            index.reload()
            self._index, self._current = index, path.name
            self._current_mtime = self._pointer.stat().st_mtime_ns
        self._remove_old(keep={path.name, old})
        return written

    def _remove_old(self, keep: set[str | None]) -> None:
        """Drop index directories older than the live one and the one it replaced."""
        for child in self.directory.iterdir():
            if child.is_dir() and child.name.startswith("v") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    def refresh(self) -> None:
        self._live().reload()

    def count(self) -> int:
        return self._live().searcher().num_docs

    def ping(self) -> bool:
        try:
            self._live().searcher()
            return True
        except Exception:  # noqa: BLE001 - health checks never raise
            log.exception("embedded search index is not usable")
            return False

    def close(self) -> None:
        with self._open_lock:
            self._index = None
            self._current = None

    # --- searching --------------------------------------------------------------------

    def _term(self, field: str, value: str) -> Query:
        return Query.term_query(self.schema, field, value)

    def _terms(self, field: str, values: list[str]) -> Query:
        if len(values) == 1:
            return self._term(field, values[0])
        return Query.term_set_query(self.schema, field, values)

    def _token_query(self, token: str, fields: tuple[str, ...]) -> Query:
        """One token's best weighted field (memoized: queries share their words)."""
        key = (token, fields)
        found = self._token_queries.get(key)
        if found is None:
            found = self._token_queries.put(key, Query.disjunction_max_query([
                Query.boost_query(self._term(field, token), FIELD_BOOSTS[field])
                for field in fields
            ]))
        return found

    def _group_query(self, tokens: tuple[str, ...], fields: tuple[str, ...]) -> Query:
        per_token = [(Occur.Should, self._token_query(token, fields)) for token in tokens]
        return Query.boolean_query(
            per_token, minimum_number_should_match=analysis.minimum_should_match(len(tokens)))

    def text_query(self, query: analysis.ParsedQuery, fields: tuple[str, ...]) -> Query:
        """Elasticsearch's ``cross_fields``: per token the best weighted field, with
        ``minimum_should_match`` over tokens, per analyzer group; the best group wins."""
        key = (query.tokens, query.username_tokens, fields)
        found = self._text_queries.get(key)
        if found is None:
            found = self._text_queries.put(key, self._text_query(query, fields))
        return found

    def _text_query(self, query: analysis.ParsedQuery, fields: tuple[str, ...]) -> Query:
        text_fields = tuple(f for f in fields if f != "username")
        groups = [self._group_query(query.tokens, text_fields)]
        if "username" in fields and query.username_tokens:
            groups.append(self._group_query(query.username_tokens, ("username",)))
        return groups[0] if len(groups) == 1 else Query.disjunction_max_query(groups)

    def hidden_filter(self, viewer: Viewer | None) -> Query:
        """The restricted posts this viewer may not see (few; searches exclude them)."""
        found = self._hidden_filters.get(viewer)
        if found is None:
            found = self._hidden_filters.put(viewer, self._hidden_filter(viewer))
        return found

    def _hidden_filter(self, viewer: Viewer | None) -> Query:
        restricted = self._term("aud", RESTRICTED)
        if viewer is None:
            return restricted
        in_audience = Query.boolean_query([
            (Occur.Must, self._terms("aud", viewer_gender_terms(viewer))),
            (Occur.Must, self._terms("aud", viewer_interest_terms(viewer))),
        ])
        return Query.boolean_query([
            (Occur.Must, restricted),
            (Occur.MustNot, in_audience),
            (Occur.MustNot, self._term("author_id", viewer.id)),
        ])

    def build_query(self, request: SearchRequest) -> Query:
        """Text query and filters (filters score nothing); bonuses are added by :meth:`search`."""
        types = TYPES[request.type]
        posts_only = bool(request.author or request.tag or request.since or request.until
                          or request.query.tags)
        if types == ("account",):
            fields = _ACCOUNT_FIELDS
        elif types is not None or posts_only:
            fields = _POST_FIELDS
        else:
            fields = _TEXT_FIELDS
        filters = []
        if types is not None:
            filters.append(self._terms("type", list(types)))
        if posts_only:
            filters.append(self._term("doc_type", "post"))
        if request.author:
            filters.append(self._terms("author", author_terms(request.author)))
        if request.tag:
            filters.append(self._term("tag", analysis.normalize_tag(request.tag)))
        filters += [self._term("tag", tag) for tag in request.query.tags]  # "#tag" in q
        if request.since or request.until:
            filters.append(Query.range_query(
                self.schema, "created", FieldType.Integer,
                lower_bound=_ts(request.since) if request.since else -(2**62),
                upper_bound=_ts(request.until) if request.until else 2**62,
                include_lower=True, include_upper=False))
        text = (self.text_query(request.query, fields) if request.query.tokens
                else Query.all_query())  # only "#tags": every post with them
        clauses = [(Occur.Must, text)]
        clauses += [(Occur.Must, Query.const_score_query(f, 0.0)) for f in filters]
        clauses.append((Occur.MustNot, self.hidden_filter(request.viewer)))
        return Query.boolean_query(clauses)

    def _ranked(self, searcher: Any, query: Query, need: int, origin_ts: int
                ) -> tuple[list[tuple[float, Any]], int]:
        """The top ``need`` hits by text score + bonuses, exactly, and the total.

        Range clauses for the bonuses (what Elasticsearch runs) would make tantivy visit
        every match several more times. Instead, rank by text score and rescore the head:
        the ``need``-th best final score is at least the ``need``-th best text score, so a
        hit whose text score is more than the largest bonus below that cannot make the
        page. Only the hits above that cutoff get their bonus from the fast fields. If
        every fetched hit is above it, the hits not fetched are still out of reach when
        even the largest bonus leaves them below the ``need``-th best final score found;
        otherwise fetch more.
        """
        fetch = max(_FIRST_FETCH, 2 * need)
        total = None
        while True:
            result = searcher.search(query, fetch, count=total is None)
            if total is None:
                total = int(result.count or 0)
            hits = result.hits
            complete = len(hits) < fetch or fetch >= _MAX_FETCH
            head = hits
            if len(hits) > need:
                cutoff = hits[need - 1][0] - MAX_BONUS
                if hits[-1][0] < cutoff:
                    # scores descend: the first hit below the cutoff, by bisection
                    head = hits[:bisect_right(hits, -cutoff, key=_negated_score)]
                    complete = True
            ranked = _rescored(searcher, head, origin_ts, need)
            if complete or (len(ranked) >= need
                            and hits[-1][0] + MAX_BONUS < ranked[need - 1][0]):
                return ranked, total
            fetch = min(fetch * 8, _MAX_FETCH)

    def search(self, request: SearchRequest) -> SearchPage:
        origin, offset = self._read_cursor(request.cursor)
        try:
            searcher = self._live().searcher()
            query = self.build_query(request)
            ranked, total = self._ranked(searcher, query, offset + request.limit + 1,
                                         int(origin.timestamp()))
            hits = ranked[offset:]
            docs = [searcher.doc(address) for _, address in hits[:request.limit]]
        except (ValueError, OSError) as exc:
            raise SearchUnavailable(f"search failed: {exc}") from exc
        terms = compile_tokens(request.query.tokens)
        username_terms = compile_tokens(request.query.username_tokens)
        out = []
        for (score, _), doc in zip(hits, docs, strict=False):
            source = json.loads(doc.get_first("src"))
            doc_type = source.pop("doc_type")
            folds = source.pop("_fold", None)
            marks = {}
            for field, whole in _HIGHLIGHTS[doc_type]:
                value = source.get(field)
                if not value:
                    continue
                folded = folds.get(field) if folds else None
                if field == "username":
                    fragment = mark(value, username_terms, True, folded,
                                    analysis.username_text(value))
                else:
                    fragment = mark(value, terms, whole, folded)
                if fragment:
                    marks[field] = fragment
            out.append(Hit(doc_type, source["id"], round(score, 4), marks, source))
        next_offset = offset + request.limit
        next_cursor = None
        if len(hits) > request.limit and next_offset <= MAX_OFFSET:
            next_cursor = {"e": _CURSOR_ENGINE, "o": int(origin.timestamp()), "n": next_offset}
        return SearchPage(out, total, next_cursor)

    @staticmethod
    def _read_cursor(cursor: Any) -> tuple[datetime, int]:
        if not cursor:
            return origin_now(), 0
        try:
            if cursor.get("e") != _CURSOR_ENGINE:
                raise ValueError("cursor from another engine")
            offset = cursor["n"]
            if not isinstance(offset, int) or isinstance(offset, bool) or not (
                    0 < offset <= MAX_OFFSET):
                raise ValueError("bad offset")
            return origin_from_cursor(cursor["o"]), offset
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise BadCursor(str(exc)) from None

    def suggest(self, prefix: str, viewer: Viewer | None = None, limit: int = 5) -> Suggestions:
        try:
            searcher = self._live().searcher()
            accounts_query = Query.boolean_query([
                (Occur.Must, self._term("suggest", prefix)),
                (Occur.Must, self._term("doc_type", "account")),
            ])
            found = searcher.search(accounts_query, limit, count=False,
                                    order_by_field="followers", order=tantivy.Order.Desc)
            accounts = []
            for _, address in found.hits:
                source = json.loads(searcher.doc(address)["src"][0])
                accounts.append({key: source.get(key) for key in (
                    "id", "username", "display_name", "kind", "verified", "followers_count")})
            visible_posts = Query.boolean_query([
                (Occur.Must, self._term("doc_type", "post")),
                (Occur.MustNot, self.hidden_filter(viewer)),
            ])
            terms = searcher.terms_with_prefix("tag", prefix, filter_query=visible_posts,
                                               limit=500)
        except (ValueError, OSError) as exc:
            raise SearchUnavailable(f"suggest failed: {exc}") from exc
        ranked = sorted((t for t in terms if t[1] > 0), key=lambda t: (-t[1], t[0]))[:limit]
        return Suggestions(accounts, [{"tag": tag, "count": count} for tag, count in ranked])


class _Memo:
    """A bounded map of built queries, oldest dropped first; safe to share between threads
    (a lost race only builds a query twice)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[Any, Query] = {}

    def get(self, key: Any) -> Query | None:
        return self._items.get(key)

    def put(self, key: Any, value: Query) -> Query:
        items = self._items
        if len(items) >= self._size:
            # another thread may have changed the map meanwhile: then it has made room
            with contextlib.suppress(KeyError, StopIteration, RuntimeError):
                del items[next(iter(items))]
        items[key] = value
        return value


_score = itemgetter(0)


def _negated_score(hit: tuple[float, Any]) -> float:
    return -hit[0]


def _rescored(searcher: Any, hits: list[tuple[float, Any]], origin_ts: int,
              need: int) -> list[tuple[float, Any]]:
    """The ``need`` best hits by text score + bonus, as ``(final score, address)``; ties
    keep tantivy's order (a stable sort). Posts have a creation time and accounts a
    follower count, never both: followers are read only for hits without one. Done with
    ``map`` over whole lists: this runs for 30-130 hits on every search."""
    addresses = [address for _, address in hits]
    created = searcher.fast_field_values("created", addresses)
    if None in created:
        others = [i for i, value in enumerate(created) if value is None]
        bonuses = recency_bonuses(created, origin_ts)
        followers = searcher.fast_field_values("followers", [addresses[i] for i in others])
        for i, value in zip(others, followers, strict=True):
            bonuses[i] = bonus(None, value, origin_ts)
    else:
        bonuses = post_recency_bonuses(created, origin_ts)
    finals = list(map(add, map(_score, hits), bonuses))
    order = sorted(range(len(finals)), key=finals.__getitem__, reverse=True)[:need]
    return [(finals[i], addresses[i]) for i in order]


def _ts(value: datetime) -> int:
    return int(as_utc(value).timestamp())


def author_terms(author: str) -> list[str]:
    """An ``author`` filter value: an account id, or a username with or without ``@``."""
    value = author.strip()
    if value.startswith("@"):
        return ["@" + analysis.normalize(value[1:])]
    return [value, "@" + analysis.normalize(value)]


