"""The Elasticsearch engine's mappings and request bodies, as pure functions (no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from search import elastic
from search.analysis import parse_query
from search.embedded import author_terms
from search.engine import BadCursor, SearchRequest, Viewer
from search.ranking import FIELD_BOOSTS, POPULARITY_STEPS, RECENCY_STEPS
from tests.search.support import account, post

ORIGIN = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _filters(body):
    return body["query"]["bool"]["filter"]


def test_usernames_split_on_underscores_and_dots():
    settings = elastic.index_settings()["analysis"]
    assert settings["analyzer"]["username_text"]["char_filter"] == ["username_split", "t2s"]
    assert settings["char_filter"]["username_split"]["pattern"] == "[_.]"
    assert parse_query("zara_official").username_tokens == ("zara", "offici")  # stemmed


def test_default_analysis_is_the_cjk_chain_with_emoji_dropped():
    analysis = elastic.index_settings()["analysis"]
    text = analysis["analyzer"]["text_index"]
    assert text == analysis["analyzer"]["text_search"]
    assert text["tokenizer"] == "standard"
    assert text["filter"] == ["cjk_width", "lowercase", "cjk_bigram", "english_stop", "no_emoji",
                              "english_stem"]
    assert text["char_filter"] == ["t2s"]
    assert analysis["filter"]["english_stop"] == {"type": "stop", "stopwords": "_english_"}
    assert analysis["filter"]["no_emoji"]["mode"] == "exclude"
    assert analysis["filter"]["prefixes"]["type"] == "edge_ngram"


@pytest.mark.parametrize(("choice", "search_tokenizer"), [("ik_smart", "ik_smart"),
                                                           ("ik_max_word", "ik_max_word")])
def test_ik_analyzers_are_selectable(choice, search_tokenizer):
    analyzers = elastic.index_settings(choice)["analysis"]["analyzer"]
    assert analyzers["text_index"]["tokenizer"] == "ik_max_word"
    assert analyzers["text_search"]["tokenizer"] == search_tokenizer
    assert "cjk_width" in analyzers["text_search"]["filter"]


def test_unknown_analyzer_is_refused():
    with pytest.raises(ValueError):
        elastic.index_settings("smartcn")
    with pytest.raises(ValueError):
        elastic.ElasticEngine("http://127.0.0.1:9", analyzer="nope")


def test_mappings_are_explicit_and_cover_every_source_field():
    mappings = elastic.index_mappings()
    assert mappings["dynamic"] == "strict"
    props = mappings["properties"]
    for field in FIELD_BOOSTS:
        assert props[field]["type"] == "text"
        if field == "username":  # its own analyzer group: "_" and "." split words
            assert props[field]["analyzer"] == "username_text"
            continue
        assert props[field]["analyzer"] == "text_index"
        assert props[field]["search_analyzer"] == "text_search"
    for field in ("key", "doc_type", "type", "author", "author_id", "tags", "aud"):
        assert props[field]["type"] == "keyword"
    assert props["created_at"]["type"] == "date"
    assert props["suggest"]["fields"]["words"]["analyzer"] == "suggest_words"
    for doc in (post("文字", tags=("护肤",), audience={"gender": "female"}),
                account("zara_official", "ZARA")):
        source = elastic.doc_source(doc)
        assert set(source) <= set(props), set(source) - set(props)
        json.dumps(source)  # JSON-safe: dates are strings


def test_doc_source_carries_filter_fields():
    doc = post("文字", tags=("护肤",), author="Lily", kind="video",
               audience={"interests_any": ["Fitness "]}, post_id="p1")
    source = elastic.doc_source(doc)
    assert source["key"] == "post:p1"
    assert source["author"] == [doc["author_id"], "@lily"]
    assert source["aud"] == ["restricted", "g:*", "i:fitness"]
    assert source["tags_text"] == "护肤"
    assert source["kind_text"] == "视频 video"
    assert source["created_at"].endswith("Z")
    acct = elastic.doc_source(account("zara_official", "ZARA Official", account_id="a1"))
    assert acct["key"] == "account:a1"
    assert acct["suggest"] == ["zara_official", "ZARA Official"]
    assert acct["aud"] == []


def test_bulk_and_delete_actions():
    docs = [post("一", post_id="p1"), account("a", "A", account_id="a1")]
    actions = list(elastic.bulk_actions(docs, "content"))
    assert [(a["_op_type"], a["_index"], a["_id"]) for a in actions] == [
        ("index", "content", "post:p1"), ("index", "content", "account:a1")]
    assert actions[0]["_source"]["text"] == "一"
    deletes = list(elastic.delete_actions("post", ["p1", "p2"], "content"))
    assert [d["_id"] for d in deletes] == ["post:p1", "post:p2"]
    assert {d["_op_type"] for d in deletes} == {"delete"}
    assert elastic.author_posts_query("a1") == {"bool": {"filter": [
        {"term": {"doc_type": "post"}}, {"term": {"author_id": "a1"}}]}}


def test_search_body_text_query_mirrors_the_embedded_engine():
    body = elastic.search_body(SearchRequest(parse_query("雅诗兰黛 Estee Lauder")), ORIGIN)
    match = body["query"]["bool"]["must"][0]["multi_match"]
    assert match["query"] == "雅诗兰黛 Estee Lauder"
    assert match["type"] == "cross_fields"
    assert match["minimum_should_match"] == "2<75%"
    assert "title^3" in match["fields"] and "text^1" in match["fields"]
    assert "kind_text^0.5" in match["fields"]
    assert body["sort"] == [{"_score": "desc"}, {"key": "asc"}]
    assert body["size"] == 21 and body["track_total_hits"] is True
    assert "search_after" not in body
    highlight = body["highlight"]
    assert highlight["pre_tags"] == ["<em>"] and highlight["encoder"] == "html"
    assert highlight["fields"]["title"]["number_of_fragments"] == 0
    assert highlight["fields"]["body"]["number_of_fragments"] == 1


def test_search_body_bonuses_are_the_shared_steps():
    body = elastic.search_body(SearchRequest(parse_query("口红")), ORIGIN)
    should = body["query"]["bool"]["should"]
    recency = should[:len(RECENCY_STEPS)]
    assert [c["constant_score"]["boost"] for c in recency] == [b for _, b in RECENCY_STEPS]
    first = recency[0]["constant_score"]["filter"]["bool"]["filter"]
    assert first[0] == {"term": {"doc_type": "post"}}
    assert first[1] == {"range": {"created_at": {"gte": "2026-11-23T08:00:00Z"}}}
    popularity = should[len(RECENCY_STEPS):]
    assert [c["constant_score"]["filter"]["range"]["followers_count"]["gte"]
            for c in popularity] == [n for n, _ in POPULARITY_STEPS]
    accounts = elastic.search_body(SearchRequest(parse_query("口红"), type="accounts"), ORIGIN)
    assert len(accounts["query"]["bool"]["should"]) == len(POPULARITY_STEPS)
    posts = elastic.search_body(SearchRequest(parse_query("口红"), type="posts"), ORIGIN)
    assert len(posts["query"]["bool"]["should"]) == len(RECENCY_STEPS)


def test_search_body_filters():
    request = SearchRequest(parse_query("口红"), type="videos", author="@Lily", tag="#ＺＡＲＡ",
                            since=ORIGIN - timedelta(days=7), until=ORIGIN)
    body = elastic.search_body(request, ORIGIN)
    filters = _filters(body)
    assert body["query"]["bool"]["must_not"] == [{"term": {"aud": "restricted"}}]
    assert {"terms": {"type": ["video"]}} in filters
    assert {"term": {"doc_type": "post"}} in filters
    assert {"terms": {"author": ["@lily"]}} in filters
    assert {"term": {"tags": "zara"}} in filters
    assert {"range": {"created_at": {"gte": "2026-11-17T08:00:00Z",
                                     "lt": "2026-11-24T08:00:00Z"}}} in filters
    assert elastic.author_values("abc") == author_terms("abc") == ["abc", "@abc"]


def test_restricted_posts_hidden_from_a_signed_in_viewer():
    viewer = Viewer("v1", gender="female", interests=("fitness",))
    assert elastic.hidden_filter(viewer) == {"bool": {
        "filter": [{"term": {"aud": "restricted"}}],
        "must_not": [
            {"bool": {"filter": [{"terms": {"aud": ["g:*", "g:female"]}},
                                 {"terms": {"aud": ["i:*", "i:fitness"]}}]}},
            {"term": {"author_id": "v1"}},
        ]}}
    assert elastic.hidden_filter(None) == {"term": {"aud": "restricted"}}


def test_cursor_round_trip_through_search_after():
    request = SearchRequest(parse_query("口红"), limit=2)
    response = {"hits": {"total": {"value": 3, "relation": "eq"}, "hits": [
        {"_score": 3.5, "sort": [3.5, "post:p1"], "_source": {**elastic.doc_source(
            post("口红一", post_id="p1")), "doc_type": "post"},
         "highlight": {"text": ["<em>口红</em>一"]}},
        {"_score": 2.0, "sort": [2.0, "post:p2"], "_source": elastic.doc_source(
            post("口红二", post_id="p2"))},
        {"_score": 1.0, "sort": [1.0, "post:p3"], "_source": elastic.doc_source(
            post("口红三", post_id="p3"))},
    ]}}
    page = elastic.parse_search_response(response, request, ORIGIN)
    assert [h.id for h in page.hits] == ["p1", "p2"]
    assert page.total == 3
    assert page.hits[0].highlight == {"text": "<em>口红</em>一"}
    assert "key" not in page.hits[0].source and "aud" not in page.hits[0].source
    assert page.next_cursor == {"e": "es", "o": int(ORIGIN.timestamp()), "a": [2.0, "post:p2"],
                                "n": 2}
    origin, after, served = elastic.read_cursor(page.next_cursor)
    assert origin == ORIGIN and after == [2.0, "post:p2"] and served == 2
    body = elastic.search_body(request, origin, after)
    assert body["search_after"] == [2.0, "post:p2"]
    last = elastic.parse_search_response({"hits": {"total": {"value": 3}, "hits": response[
        "hits"]["hits"][2:]}}, request, origin, served)
    assert last.next_cursor is None


def test_overlapping_bigram_highlights_are_merged():
    request = SearchRequest(parse_query("雅诗兰黛"))
    response = {"hits": {"total": {"value": 1}, "hits": [{
        "_score": 1.0, "sort": [1.0, "post:p1"],
        "_source": elastic.doc_source(post(title="雅诗兰黛新品", post_id="p1")),
        "highlight": {"title": ["<em>雅诗</em><em>兰</em><em>黛</em>新品"]}}]}}
    page = elastic.parse_search_response(response, request, ORIGIN)
    assert page.hits[0].highlight == {"title": "<em>雅诗兰黛</em>新品"}


def test_bad_cursors():
    for bad in ({"e": "embedded", "o": 0, "n": 1}, {"e": "es", "o": 0, "a": [1.0], "n": 1},
                {"e": "es", "o": 0, "a": [1.0, "k"], "n": 0}, {"e": "es", "a": [1.0, "k"],
                                                                "n": 1}, "text"):
        with pytest.raises(BadCursor):
            elastic.read_cursor(bad)


def test_suggest_bodies():
    accounts = elastic.account_suggest_body("zara off", 5)
    assert accounts["size"] == 5
    assert accounts["sort"][0] == {"followers_count": "desc"}
    assert {"match": {"suggest": "zara off"}} in accounts["query"]["bool"]["should"]
    tags = elastic.tag_suggest_body("c++", None, 10)
    agg = tags["aggs"]["tags"]["terms"]
    assert agg["include"] == "c\\+\\+.*"
    assert agg["size"] == 10
    assert {"prefix": {"tags": "c++"}} in tags["query"]["bool"]["filter"]
    assert tags["query"]["bool"]["must_not"] == [{"term": {"aud": "restricted"}}]


def test_alias_swap_is_one_atomic_action_list():
    actions = elastic.alias_swap_actions("content", "content-2", ["content-1", "content-0"])
    assert actions == [
        {"remove": {"index": "content-0", "alias": "content"}},
        {"remove": {"index": "content-1", "alias": "content"}},
        {"add": {"index": "content-2", "alias": "content", "is_write_index": True}},
    ]
    assert elastic.new_index_name("content").startswith("content-")


def test_an_unreachable_server_is_search_unavailable():
    from search.engine import SearchUnavailable

    engine = elastic.ElasticEngine("http://127.0.0.1:9", request_timeout=0.5)
    assert engine.ping() is False
    with pytest.raises(SearchUnavailable):
        engine.search(SearchRequest(parse_query("口红")))
    with pytest.raises(SearchUnavailable):
        engine.index([post("口红")])


def test_traditional_is_read_as_simplified_by_the_analyzer_table():
    """ES has no OpenCC: the embedded analyzer's one-for-one table is a mapping char filter
    on every text analyzer and suggester, so 龍井 and 龙井 index and search alike."""
    analysis_settings = elastic.index_settings()["analysis"]
    t2s = analysis_settings["char_filter"]["t2s"]
    assert t2s["type"] == "mapping"
    assert {"龍 => 龙", "詩 => 诗", "蘭 => 兰", "髮 => 发"} <= set(t2s["mappings"])
    assert all(len(m.split(" => ")[0]) == len(m.split(" => ")[1]) == 1 for m in t2s["mappings"])
    for name in ("text_index", "text_search", "username_text", "suggest_whole",
                 "suggest_words", "suggest_query"):
        assert "t2s" in analysis_settings["analyzer"][name]["char_filter"], name
    for choice in ("ik_smart", "ik_max_word"):
        analyzers = elastic.index_settings(choice)["analysis"]["analyzer"]
        assert analyzers["text_search"]["char_filter"] == ["t2s"]
        assert "english_stem" in analyzers["text_search"]["filter"]
    assert parse_query("龍井").tokens == parse_query("龙井").tokens == ("龙井",)


def test_english_words_are_stemmed_with_porter2_on_both_engines():
    analysis_settings = elastic.index_settings()["analysis"]
    assert analysis_settings["filter"]["english_stem"] == {"type": "stemmer",
                                                           "language": "porter2"}
    assert "english_stem" in analysis_settings["analyzer"]["username_text"]["filter"]
    # the embedded analyzer makes the tokens Lucene's Snowball English filter makes
    assert parse_query("teas brewing").tokens == parse_query("tea brew").tokens == ("tea", "brew")


def test_hashtags_in_q_filter_by_tag_and_leave_the_text():
    body = elastic.search_body(SearchRequest(query=parse_query("连衣裙 #穿搭 #龍井")), ORIGIN)
    assert {"term": {"tags": "穿搭"}} in _filters(body)
    assert {"term": {"tags": "龙井"}} in _filters(body)  # tags are normalized like text
    assert {"term": {"doc_type": "post"}} in _filters(body)
    [text] = body["query"]["bool"]["must"]
    assert text["multi_match"]["query"] == "连衣裙"
    only_tag = elastic.search_body(SearchRequest(query=parse_query("#穿搭")), ORIGIN)
    assert only_tag["query"]["bool"]["must"] == [{"match_all": {}}]
    assert {"term": {"tags": "穿搭"}} in _filters(only_tag)
