"""Our analyzer produces the tokens Elasticsearch's ``cjk`` analyzer produces."""

from __future__ import annotations

import pytest

from app.errors import ApiError
from search import analysis
from search.analysis import minimum_should_match, parse_prefix, parse_query, prefix_tokens, tokens
from search.highlight import compile_tokens, highlight


@pytest.mark.parametrize(("text", "expected"), [
    ("雅诗兰黛", ["雅诗", "诗兰", "兰黛"]),
    ("视频", ["视频"]),
    ("黛", ["黛"]),  # a lone CJK character is a unigram
    ("a 雅 b", ["雅", "b"]),  # "a" is an English stop word
    ("ＺＡＲＡ", ["zara"]),  # full width folds to half width, then lowercase
    ("Ｚａｒａ２０２４", ["zara2024"]),
    ("雅诗兰黛 Estee Lauder", ["雅诗", "诗兰", "兰黛", "este", "lauder"]),  # English stems
    ("iPhone15手机", ["iphone15", "手机"]),  # scripts split, letters and digits stay together
    ("3.5寸 1,000元", ["3.5", "寸", "1,000", "元"]),
    ("L'Oréal zara.com U.S.A.", ["l'oréal", "zara.com", "u.s.a"]),
    ("zara_official", ["zara_offici"]),
    ("火锅！！！🔥🔥 ……", ["火锅"]),  # punctuation and emoji are dropped
    ("雅🎉诗", ["雅", "诗"]),  # an emoji breaks a CJK run
    ("ｶﾀｶﾅ", ["カタ", "タカ", "カナ"]),  # half-width katakana fold to full width
    ("한국어", ["한국", "국어"]),
    ("The best of the year", ["best", "year"]),
    ("Teas brewing brewed", ["tea", "brew", "brew"]),  # Porter2, as ES "porter2"
    ("龍井茶 雅詩蘭黛", ["龙井", "井茶", "雅诗", "诗兰", "兰黛"]),  # Traditional read as Simplified
    ("", []),
    ("！？。，、🎉", []),
])
def test_tokens_mirror_the_cjk_analyzer(text, expected):
    assert tokens(text) == expected


def test_a_two_character_word_inside_a_sentence_is_a_token():
    sentence = "昨天晚上我和朋友们一起去吃了非常好吃的火锅然后又去看了电影"
    found = tokens(sentence)
    assert "火锅" in found and "电影" in found
    assert len(found) == len(sentence) - 1  # one CJK run: overlapping bigrams


def test_tokens_keep_duplicates_for_term_frequency():
    assert tokens("视频视频") == ["视频", "频视", "视频"]


@pytest.mark.parametrize(("count", "required"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3),
                                                  (8, 6), (10, 7)])
def test_minimum_should_match_is_elasticsearch_2_lt_75_percent(count, required):
    assert minimum_should_match(count) == required


def test_parse_query_keeps_text_and_tokens():
    parsed = parse_query("  雅诗兰黛 Estee Lauder ")
    assert parsed.text == "雅诗兰黛 Estee Lauder"
    assert parsed.tokens == ("雅诗", "诗兰", "兰黛", "este", "lauder")
    assert parsed.minimum_should_match == 3


@pytest.mark.parametrize("bad", ["", "   ", "!!!", "🎉🎉", "the of and", "x" * 201,
                                 "雅" * (analysis.MAX_QUERY_CHARS + 1)])
def test_empty_or_absurd_queries_are_400(bad):
    with pytest.raises(ApiError) as raised:
        parse_query(bad)
    assert raised.value.status == 400
    assert raised.value.code == "invalid_query"


def test_a_query_of_exactly_the_maximum_length_is_fine():
    assert parse_query("雅" * analysis.MAX_QUERY_CHARS).tokens


def test_prefix_tokens_are_edge_ngrams_of_names_and_words():
    found = prefix_tokens("zara_official", "ZARA Official")
    for expected in ("z", "za", "zara", "zara_o", "zara official", "o", "off", "official"):
        assert expected in found
    assert len(found) == len(set(found))
    chinese = prefix_tokens("雅诗兰黛官方旗舰店")
    assert chinese[:3] == ["雅", "雅诗", "雅诗兰"]
    assert all(len(p) <= analysis.MAX_PREFIX_CHARS for p in prefix_tokens("x" * 50))


def test_parse_prefix_folds_and_rejects_empty():
    assert parse_prefix(" @ＺＡｒａ ") == "zara"
    assert parse_prefix("Zara   Off") == "zara off"
    for bad in ("", "@", "  ", "🎉"):
        with pytest.raises(ApiError):
            parse_prefix(bad)


def test_normalize_tag():
    assert analysis.normalize_tag(" #护肤 ") == "护肤"
    assert analysis.normalize_tag("ＺＡＲＡ") == "zara"


# --- highlighting ---------------------------------------------------------------------------


def _mark(text: str, query: str, whole: bool = True) -> str | None:
    return highlight(text, compile_tokens(parse_query(query).tokens), whole=whole)


def test_highlight_marks_whole_cjk_words_from_overlapping_bigrams():
    assert _mark("雅诗兰黛小棕瓶", "雅诗兰黛") == "<em>雅诗兰黛</em>小棕瓶"


def test_highlight_marks_words_only_at_token_boundaries():
    assert _mark("Zara and zara_official and bizarre", "zara") == (
        "<em>Zara</em> and zara_official and bizarre")
    assert _mark("买ZARA手机", "zara") == "买<em>ZARA</em>手机"


def test_highlight_maps_full_width_text_back_to_the_original():
    assert _mark("ＺＡＲＡ 新款", "zara") == "<em>ＺＡＲＡ</em> 新款"
    assert _mark("ﬁne ＺＡＲＡ", "zara") == "ﬁne <em>ＺＡＲＡ</em>"  # NFKC changes the length


def test_highlight_escapes_html_and_returns_none_without_match():
    assert _mark("<b>火锅</b>", "火锅") == "&lt;b&gt;<em>火锅</em>&lt;/b&gt;"
    assert _mark("没有", "火锅") is None


def test_highlight_lone_cjk_character_only_where_it_stands_alone():
    assert _mark("黛 和 兰黛", "黛") == "<em>黛</em> 和 兰黛"


def test_body_fragments_are_cut_around_the_first_match():
    body = "开头" * 100 + "火锅" + "结尾" * 100
    fragment = _mark(body, "火锅", whole=False)
    assert "<em>火锅</em>" in fragment
    assert fragment.startswith("…") and fragment.endswith("…")
    assert len(fragment) < 160


# The engine highlights with `mark`, trusting the fold the index stored (or its absence);
# it must give exactly what folding the text at search time gives.

_TRICKY = ["Zara", "ZARA", "ｚａｒａ", "Ｚａｒａ", "zara_official", "bizarre", "KIEHL'S",
           "\u212aiehl's", "İstanbul", "L'ORÉAL", "l'oréal", "ΣΑΣ", "雅诗兰黛", "兰黛", "黛",
           "火锅", "3.5", "a.a.a", "&<b>", "，", "🔥", " ", "_", "ﬁne", "ß", "é"]
_QUERIES = ["zara", "kiehl's", "l'oréal", "雅诗兰黛", "黛", "火锅 zara", "3.5", "a.a", "σας",
            "ZARA 兰黛", "istanbul", "fine"]


def _indexed_fold(text: str) -> str | None:
    from search.highlight import fold

    folded = fold(text)
    return folded if folded != text.lower() else None  # what to_tantivy stores


@pytest.mark.parametrize("seed", range(4))
def test_mark_with_the_indexed_fold_equals_highlight(seed):
    import random

    from search.highlight import mark

    rng = random.Random(seed)
    for _ in range(500):
        text = "".join(rng.choice(_TRICKY) for _ in range(rng.choice([1, 3, 12, 40])))
        query = " ".join(rng.sample(_QUERIES, rng.randint(1, 2)))
        terms = compile_tokens(parse_query(query).tokens)
        whole = rng.random() < 0.5
        expected = highlight(text, terms, whole=whole)
        assert mark(text, terms, whole, _indexed_fold(text)) == expected, (text, query)
        username = analysis.username_text(text)
        expected = highlight(text, terms, whole=True, match_text=username)
        assert mark(text, terms, True, _indexed_fold(username), username) == expected
