"""The Elasticsearch engine (official client; 8.x and 9.x servers).

Documents live in a versioned index (``<prefix>-<stamp>``) behind the alias ``<prefix>``;
a rebuild creates a new index, bulk-loads it, and swaps the alias in one atomic
``_aliases`` call, so searches never see a missing or half-built index.

Every request and mapping body is built by a pure function below (unit-tested without a
server); the :class:`ElasticEngine` methods only send them. Text is analyzed by
Elasticsearch's ``cjk`` chain (standard tokenizer, ``cjk_width``, ``lowercase``,
``cjk_bigram``, English stop words) with emoji tokens dropped, exactly what
:mod:`search.analysis` mirrors for the embedded engine; ``SEARCH_ANALYZER=ik_smart`` or
``ik_max_word`` switches to the IK plugin's analyzers where it is installed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

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
from search.ranking import (
    FIELD_BOOSTS,
    HIGHLIGHT_FIELDS,
    KIND_WORDS,
    POPULARITY_STEPS,
    RECENCY_STEPS,
    origin_from_cursor,
    origin_now,
)

log = logging.getLogger(__name__)

ANALYZERS = ("cjk", "ik_smart", "ik_max_word")
BULK_CHUNK = 500
_CURSOR_ENGINE = "es"
_WHOLE_FIELDS = ("title", "display_name", "username")
_FRAGMENT_FIELDS = ("text", "body", "bio")
_SOURCE_EXCLUDES = ["key", "author", "aud", "tags_text", "kind_text", "suggest"]


# --- index definition ----------------------------------------------------------------


def index_settings(analyzer: str = "cjk") -> dict[str, Any]:
    """Analysis settings: the text analyzers (``text_index``/``text_search``) and suggesters."""
    if analyzer not in ANALYZERS:
        raise ValueError(f"SEARCH_ANALYZER must be one of {ANALYZERS}, not {analyzer!r}")
    analyzers: dict[str, Any] = {
        # Prefixes of the whole name, and of each word of it (edge n-grams), for suggestions.
        "suggest_whole": {"type": "custom", "tokenizer": "keyword",
                          "char_filter": ["at_space", "t2s"],
                          "filter": ["cjk_width", "lowercase", "trim", "one_space", "prefixes"]},
        "suggest_words": {"type": "custom", "tokenizer": "name_words", "char_filter": ["t2s"],
                          "filter": ["cjk_width", "lowercase", "prefixes"]},
        "suggest_query": {"type": "custom", "tokenizer": "keyword",
                          "char_filter": ["at_space", "t2s"],
                          "filter": ["cjk_width", "lowercase", "trim", "one_space"]},
    }
    # Usernames read "_" and "." as spaces (``zara_official`` is found by ``zara``).
    analyzers["username_text"] = {
        "type": "custom", "tokenizer": "standard", "char_filter": ["username_split", "t2s"],
        "filter": ["cjk_width", "lowercase", "cjk_bigram", "english_stop", "no_emoji",
                   "english_stem"]}
    if analyzer == "cjk":
        # The built-in ``cjk`` analyzer rebuilt as Elasticsearch documents it, plus one filter
        # that drops emoji tokens (the standard tokenizer emits them; we ignore emoji).
        # Traditional read as Simplified (``t2s``) and English stems, as search.analysis does.
        cjk = {"type": "custom", "tokenizer": "standard", "char_filter": ["t2s"],
               "filter": ["cjk_width", "lowercase", "cjk_bigram", "english_stop", "no_emoji",
                          "english_stem"]}
        analyzers["text_index"] = cjk
        analyzers["text_search"] = cjk
    else:
        analyzers["text_index"] = {"type": "custom", "tokenizer": "ik_max_word",
                                   "char_filter": ["t2s"],
                                   "filter": ["cjk_width", "lowercase", "english_stem"]}
        analyzers["text_search"] = {"type": "custom", "tokenizer": analyzer,
                                    "char_filter": ["t2s"],
                                    "filter": ["cjk_width", "lowercase", "english_stem"]}
    return {
        "analysis": {
            "char_filter": {
                "at_space": {"type": "mapping", "mappings": ["@ => \\u0020"]},
                "username_split": {"type": "pattern_replace", "pattern": "[_.]",
                                   "replacement": " "},
                "t2s": t2s_char_filter(),
            },
            "tokenizer": {"name_words": {"type": "pattern", "pattern": "[\\W_]+",
                                         "flags": "UNICODE_CHARACTER_CLASS"}},
            "filter": {
                "english_stop": {"type": "stop", "stopwords": "_english_"},
                # Lucene's Snowball English, the stemmer search.analysis runs (PyStemmer)
                "english_stem": {"type": "stemmer", "language": "porter2"},
                "no_emoji": {"type": "keep_types", "types": ["<EMOJI>"], "mode": "exclude"},
                "prefixes": {"type": "edge_ngram", "min_gram": 1,
                             "max_gram": analysis.MAX_PREFIX_CHARS},
                "one_space": {"type": "pattern_replace", "pattern": "\\s+", "replacement": " "},
            },
            "analyzer": analyzers,
        },
    }


def t2s_char_filter() -> dict[str, Any]:
    """Traditional to Simplified before tokenizing: the analyzer's one-for-one table as a
    ``mapping`` char filter (Elasticsearch has no OpenCC), so both engines read alike."""
    return {"type": "mapping",
            "mappings": [f"{chr(code)} => {simplified}"
                         for code, simplified in sorted(analysis.t2s_table().items())]}


def index_mappings() -> dict[str, Any]:
    """Explicit, strict mappings: keywords for filters, analyzed text, suggest n-grams."""
    keyword = {"type": "keyword"}
    text = {"type": "text", "analyzer": "text_index", "search_analyzer": "text_search"}
    stored = {"type": "keyword", "index": False, "doc_values": False}
    return {
        "dynamic": "strict",
        "properties": {
            "key": keyword,
            "doc_type": keyword,
            "id": keyword,
            "type": keyword,
            "kind": keyword,
            "author": keyword,
            "author_id": keyword,
            "author_username": stored,
            "author_name": stored,
            "author_kind": keyword,
            "title": text,
            "text": text,
            "body": text,
            "display_name": text,
            "username": {"type": "text", "analyzer": "username_text"},
            "bio": text,
            "tags": keyword,
            "tags_text": text,
            "kind_text": text,
            "aud": keyword,
            "audience": {"type": "object", "enabled": False},
            "created_at": {"type": "date"},
            "followers_count": {"type": "long"},
            "verified": {"type": "boolean"},
            "suggest": {
                "type": "text", "analyzer": "suggest_whole", "search_analyzer": "suggest_query",
                "fields": {"words": {"type": "text", "analyzer": "suggest_words",
                                     "search_analyzer": "suggest_query"}},
            },
        },
    }


def doc_key(doc_type: str, doc_id: str) -> str:
    return f"{doc_type}:{doc_id}"


def doc_source(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``_source`` of one document: the document plus the fields filters need."""
    source = to_json(doc)
    source.update(key=doc_key(doc["doc_type"], doc["id"]),
                  aud=audience_terms(doc.get("audience")))
    if doc["doc_type"] == "post":
        author = [doc["author_id"]]
        if doc.get("author_username"):
            author.append("@" + analysis.normalize(doc["author_username"]))
        source.update(author=author, tags_text=" ".join(doc.get("tags") or ()),
                      kind_text=KIND_WORDS.get(doc["type"], ""))
    else:
        source["suggest"] = [v for v in (doc.get("username"), doc.get("display_name")) if v]
    return source


def bulk_actions(docs: Iterable[dict[str, Any]], index: str) -> Iterator[dict[str, Any]]:
    """``index`` actions for the bulk helper (ids are ``doc_type:id``, so writes replace)."""
    for doc in docs:
        yield {"_op_type": "index", "_index": index, "_id": doc_key(doc["doc_type"], doc["id"]),
               "_source": doc_source(doc)}


def delete_actions(doc_type: str, ids: Iterable[str], index: str) -> Iterator[dict[str, Any]]:
    for doc_id in ids:
        yield {"_op_type": "delete", "_index": index, "_id": doc_key(doc_type, str(doc_id))}


def author_posts_query(author_id: str) -> dict[str, Any]:
    return {"bool": {"filter": [{"term": {"doc_type": "post"}},
                                {"term": {"author_id": str(author_id)}}]}}


# --- queries --------------------------------------------------------------------------


def hidden_filter(viewer: Viewer | None) -> dict[str, Any]:
    """The restricted posts this viewer may not see (searches exclude them).

    Restricted posts are few, so excluding them is cheaper than requiring the open ones.
    A viewer sees a restricted post when in its audience or when they wrote it.
    """
    restricted = {"term": {"aud": RESTRICTED}}
    if viewer is None:
        return restricted
    in_audience = {"bool": {"filter": [
        {"terms": {"aud": viewer_gender_terms(viewer)}},
        {"terms": {"aud": viewer_interest_terms(viewer)}},
    ]}}
    return {"bool": {"filter": [restricted],
                     "must_not": [in_audience, {"term": {"author_id": viewer.id}}]}}


def author_values(author: str) -> list[str]:
    value = author.strip()
    if value.startswith("@"):
        return ["@" + analysis.normalize(value[1:])]
    return [value, "@" + analysis.normalize(value)]


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def search_body(request: SearchRequest, origin: datetime,
                search_after: list[Any] | None = None) -> dict[str, Any]:
    """The ``_search`` body: the same text query, filters and bonuses as the embedded engine."""
    types = TYPES[request.type]
    posts_only = bool(request.author or request.tag or request.since or request.until
                      or request.query.tags)
    filters: list[dict[str, Any]] = []
    if types is not None:
        filters.append({"terms": {"type": list(types)}})
    if posts_only:
        filters.append({"term": {"doc_type": "post"}})
    if request.author:
        filters.append({"terms": {"author": author_values(request.author)}})
    if request.tag:
        filters.append({"term": {"tags": analysis.normalize_tag(request.tag)}})
    filters += [{"term": {"tags": tag}} for tag in request.query.tags]  # "#tag" in q
    if request.since or request.until:
        bounds: dict[str, str] = {}
        if request.since:
            bounds["gte"] = _iso(request.since)
        if request.until:
            bounds["lt"] = _iso(request.until)
        filters.append({"range": {"created_at": bounds}})
    should: list[dict[str, Any]] = []
    if types != ("account",):
        for age, bonus in RECENCY_STEPS:
            should.append({"constant_score": {
                "filter": {"bool": {"filter": [
                    {"term": {"doc_type": "post"}},
                    {"range": {"created_at": {"gte": _iso(origin - age)}}},
                ]}},
                "boost": bonus}})
    if types in (None, ("account",)) and not posts_only:
        for at_least, bonus in POPULARITY_STEPS:
            should.append({"constant_score": {
                "filter": {"range": {"followers_count": {"gte": at_least}}}, "boost": bonus}})
    text_query: dict[str, Any] = {"multi_match": {
        "query": request.query.text,
        "type": "cross_fields",
        "fields": [f"{field}^{boost:g}" for field, boost in FIELD_BOOSTS.items()],
        "operator": "or",
        "minimum_should_match": analysis.MINIMUM_SHOULD_MATCH,
    }} if request.query.tokens else {"match_all": {}}  # only "#tags": every post with them
    highlight_fields: dict[str, Any] = {f: {"number_of_fragments": 0} for f in _WHOLE_FIELDS}
    highlight_fields.update({f: {"fragment_size": 120, "number_of_fragments": 1,
                                 "no_match_size": 0} for f in _FRAGMENT_FIELDS})
    body: dict[str, Any] = {
        "query": {"bool": {"must": [text_query], "filter": filters, "should": should,
                           "must_not": [hidden_filter(request.viewer)]}},
        "sort": [{"_score": "desc"}, {"key": "asc"}],
        "size": request.limit + 1,
        "track_scores": True,
        "track_total_hits": True,
        "_source": {"excludes": _SOURCE_EXCLUDES},
        "highlight": {"pre_tags": ["<em>"], "post_tags": ["</em>"], "encoder": "html",
                      "require_field_match": True, "fields": highlight_fields},
    }
    if search_after is not None:
        body["search_after"] = search_after
    return body


def read_cursor(cursor: Any) -> tuple[datetime, list[Any] | None, int]:
    """(origin, search_after, items already served) from a cursor this engine made."""
    if not cursor:
        return origin_now(), None, 0
    try:
        if cursor.get("e") != _CURSOR_ENGINE:
            raise ValueError("cursor from another engine")
        after, served = cursor["a"], cursor["n"]
        if (not isinstance(after, list) or len(after) != 2
                or not isinstance(after[0], int | float) or not isinstance(after[1], str)):
            raise ValueError("bad search_after")
        if not isinstance(served, int) or isinstance(served, bool) or not 0 < served <= MAX_OFFSET:
            raise ValueError("bad count")
        return origin_from_cursor(cursor["o"]), after, served
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise BadCursor(str(exc)) from None


def parse_search_response(response: dict[str, Any], request: SearchRequest, origin: datetime,
                          served: int = 0) -> SearchPage:
    """Hits, total and next cursor from a ``_search`` response."""
    raw_hits = response["hits"]["hits"]
    hits = []
    for raw in raw_hits[:request.limit]:
        source = dict(raw["_source"])
        doc_type = source.pop("doc_type")
        for key in _SOURCE_EXCLUDES:
            source.pop(key, None)
        marks = {}
        for field in HIGHLIGHT_FIELDS[doc_type]:
            fragments = (raw.get("highlight") or {}).get(field)
            if fragments:
                # overlapping bigrams come back as adjacent marks: "<em>雅诗</em><em>兰</em>"
                marks[field] = fragments[0].replace("</em><em>", "")
        score = raw.get("_score")
        if score is None:
            score = raw["sort"][0]
        hits.append(Hit(doc_type, source["id"], round(float(score), 4), marks, source))
    total = response["hits"].get("total", {})
    total_value = total.get("value", 0) if isinstance(total, dict) else int(total or 0)
    next_cursor = None
    shown = served + request.limit
    if len(raw_hits) > request.limit and shown <= MAX_OFFSET:
        last = raw_hits[request.limit - 1]["sort"]
        next_cursor = {"e": _CURSOR_ENGINE, "o": int(origin.timestamp()), "a": list(last),
                       "n": shown}
    return SearchPage(hits, int(total_value), next_cursor)


def account_suggest_body(prefix: str, limit: int) -> dict[str, Any]:
    return {
        "size": limit,
        "query": {"bool": {
            "filter": [{"term": {"doc_type": "account"}}],
            "should": [{"match": {"suggest": prefix}}, {"match": {"suggest.words": prefix}}],
            "minimum_should_match": 1,
        }},
        "sort": [{"followers_count": "desc"}, {"key": "asc"}],
        "_source": ["id", "username", "display_name", "kind", "verified", "followers_count"],
    }


_REGEX_RESERVED = set('.?+*|{}[]()"\\#@&<>~')


def lucene_regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_RESERVED else c for c in text)


def tag_suggest_body(prefix: str, viewer: Viewer | None, limit: int) -> dict[str, Any]:
    return {
        "size": 0,
        "query": {"bool": {
            "filter": [{"term": {"doc_type": "post"}}, {"prefix": {"tags": prefix}}],
            "must_not": [hidden_filter(viewer)],
        }},
        "aggs": {"tags": {"terms": {
            "field": "tags", "include": lucene_regex_escape(prefix) + ".*", "size": limit,
            "order": [{"_count": "desc"}, {"_key": "asc"}],
        }}},
    }


def alias_swap_actions(alias: str, new_index: str, old_indices: Iterable[str]) -> list[dict]:
    """One atomic ``_aliases`` call: the alias leaves every old index and points at the new."""
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}}
                                     for old in sorted(old_indices) if old != new_index]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    return actions


def new_index_name(prefix: str) -> str:
    return f"{prefix}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 1_000_000:06d}"


# --- the engine ------------------------------------------------------------------------


def _client(url: str, **options: Any):
    """An Elasticsearch client that also speaks to 8.x servers.

    The 9.x client asks for ``compatible-with=9``, which 8.x servers refuse; 9.x servers
    also accept ``compatible-with=8``, so asking for 8 works with both.
    """
    from elasticsearch import Elasticsearch  # imported here: only when ELASTICSEARCH_URL is set

    compat = {
        "application/json": "application/vnd.elasticsearch+json; compatible-with=8",
        "application/x-ndjson": "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
    }

    class Client(Elasticsearch):
        def perform_request(self, method, path, *, params=None, headers=None, body=None,
                            endpoint_id=None, path_parts=None):
            if headers:
                headers = {k: compat.get(v, v) if k.lower() in ("accept", "content-type")
                           else v for k, v in headers.items()}
            return super().perform_request(method, path, params=params, headers=headers,
                                           body=body, endpoint_id=endpoint_id,
                                           path_parts=path_parts)

    return Client(url, **options)


class ElasticEngine(SearchEngine):
    name = "elasticsearch"

    def __init__(self, url: str, index_prefix: str = "content", analyzer: str = "cjk",
                 request_timeout: float = 10.0) -> None:
        if analyzer not in ANALYZERS:
            raise ValueError(f"SEARCH_ANALYZER must be one of {ANALYZERS}, not {analyzer!r}")
        self.url = url
        self.alias = index_prefix
        self.analyzer = analyzer
        self.es = _client(url, request_timeout=request_timeout, max_retries=2,
                          retry_on_timeout=True)
        self._ready = False

    @staticmethod
    def _unavailable(exc: Exception) -> Exception:
        """Connection failures and server-side errors mean search is unavailable (503)."""
        # imported here: the client loads only when ELASTICSEARCH_URL is set
        from elasticsearch import ApiError, TransportError

        if isinstance(exc, TransportError):
            return SearchUnavailable(f"elasticsearch unreachable: {exc}")
        if isinstance(exc, ApiError) and (exc.meta.status >= 500
                                          or exc.meta.status in (401, 403, 429)):
            return SearchUnavailable(f"elasticsearch error {exc.meta.status}: {exc}")
        return exc

    def _call(self, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            translated = self._unavailable(exc)
            if translated is exc:
                raise
            raise translated from exc

    def ensure_index(self) -> None:
        """Create the first versioned index behind the alias if there is none yet."""
        # imported here: the client loads only when ELASTICSEARCH_URL is set
        from elasticsearch import ApiError

        if self._ready:
            return
        if not self._call(self.es.indices.exists_alias, name=self.alias):
            name = new_index_name(self.alias)
            self._call(self.es.indices.create, index=name, settings=index_settings(self.analyzer),
                       mappings=index_mappings())
            try:
                self._call(self.es.indices.update_aliases, actions=[
                    {"add": {"index": name, "alias": self.alias, "is_write_index": True}}])
            except ApiError:  # another process created the alias first: use theirs
                self._call(self.es.options(ignore_status=404).indices.delete, index=name)
                if not self._call(self.es.indices.exists_alias, name=self.alias):
                    raise
        self._ready = True

    def _bulk(self, actions: Iterable[dict[str, Any]], progress: Progress | None = None,
              ignore_missing: bool = False) -> int:
        # imported here: the client loads only when ELASTICSEARCH_URL is set
        from elasticsearch import helpers

        done = 0
        try:
            for ok, item in helpers.streaming_bulk(
                    self.es, actions, chunk_size=BULK_CHUNK, raise_on_error=False,
                    raise_on_exception=True, max_retries=3):
                info = next(iter(item.values()))
                if not ok and not (ignore_missing and info.get("status") == 404):
                    raise SearchUnavailable(f"bulk write failed: {info.get('error')}")
                done += 1
                if progress and done % BULK_CHUNK == 0:
                    progress(BULK_CHUNK)
        except SearchUnavailable:
            raise
        except Exception as exc:
            translated = self._unavailable(exc)
            if translated is exc:
                raise
            raise translated from exc
        if progress and done % BULK_CHUNK:
            progress(done % BULK_CHUNK)
        return done

    def index(self, docs: Iterable[dict[str, Any]]) -> int:
        self.ensure_index()
        return self._bulk(bulk_actions(docs, self.alias))

    def delete(self, doc_type: str, ids: Iterable[str]) -> None:
        self.ensure_index()
        self._bulk(delete_actions(doc_type, ids, self.alias), ignore_missing=True)

    def delete_author_posts(self, author_id: str) -> None:
        self.ensure_index()
        self._call(self.es.delete_by_query, index=self.alias, query=author_posts_query(author_id),
                   conflicts="proceed", refresh=True)

    def search(self, request: SearchRequest) -> SearchPage:
        origin, after, served = read_cursor(request.cursor)
        self.ensure_index()
        body = search_body(request, origin, after)
        response = self._call(self.es.search, index=self.alias, body=body)
        return parse_search_response(response.body, request, origin, served)

    def suggest(self, prefix: str, viewer: Viewer | None = None, limit: int = 5) -> Suggestions:
        self.ensure_index()
        accounts = self._call(self.es.search, index=self.alias,
                              body=account_suggest_body(prefix, limit)).body
        tags = self._call(self.es.search, index=self.alias,
                          body=tag_suggest_body(prefix, viewer, limit)).body
        return Suggestions(
            [hit["_source"] for hit in accounts["hits"]["hits"]],
            [{"tag": b["key"], "count": b["doc_count"]}
             for b in tags["aggregations"]["tags"]["buckets"]],
        )

    def recreate(self, docs: Iterable[dict[str, Any]], progress: Progress | None = None) -> int:
        name = new_index_name(self.alias)
        settings = index_settings(self.analyzer)
        settings["refresh_interval"] = "-1"  # bulk loads faster without refreshes
        self._call(self.es.indices.create, index=name, settings=settings,
                   mappings=index_mappings())
        try:
            written = self._bulk(bulk_actions(docs, name), progress)
            self._call(self.es.indices.put_settings, index=name,
                       settings={"index": {"refresh_interval": None}})
            self._call(self.es.indices.refresh, index=name)
            old = []
            if self._call(self.es.indices.exists_alias, name=self.alias):
                old = list(self._call(self.es.indices.get_alias, name=self.alias).body)
            elif self._call(self.es.indices.exists, index=self.alias):
                # an index auto-created under the alias's name (a write before any alias)
                self._call(self.es.indices.delete, index=self.alias)
            self._call(self.es.indices.update_aliases,
                       actions=alias_swap_actions(self.alias, name, old))
        except BaseException:
            self.es.options(ignore_status=404).indices.delete(index=name)
            raise
        for index in old:
            if index != name:
                self._call(self.es.options(ignore_status=404).indices.delete, index=index)
        self._ready = True
        return written

    def refresh(self) -> None:
        self.ensure_index()
        self._call(self.es.indices.refresh, index=self.alias)

    def count(self) -> int:
        self.ensure_index()
        return int(self._call(self.es.count, index=self.alias).body["count"])

    def ping(self) -> bool:
        try:
            return bool(self.es.ping())
        except Exception:  # noqa: BLE001 - health checks never raise
            return False

    def close(self) -> None:
        self.es.close()

    def drop(self) -> None:
        """Delete the alias and every index behind it (tests)."""
        if self._call(self.es.indices.exists_alias, name=self.alias):
            for index in self._call(self.es.indices.get_alias, name=self.alias).body:
                self._call(self.es.options(ignore_status=404).indices.delete, index=index)
        self._ready = False
