"""Term matching: evasions are caught, ordinary text never is, edits reach every process."""

from __future__ import annotations

import pytest

from moderation import terms
from moderation.normalize import normalize
from moderation.terms import Matcher, check_text, highlight_html

EVASIONS = [
    ("法轮", "法轮"),
    ("法 轮", "法轮"),
    ("法.轮", "法轮"),
    ("法\u200b轮", "法轮"),
    ("法\u200d\ufeff轮", "法轮"),
    ("法\u3000轮", "法轮"),  # ideographic space
    ("法*轮", "法轮"),
    ("法😀轮", "法轮"),
    ("法 . 轮", "法轮"),
    ("法輪功", "法轮功"),  # traditional characters
    ("法。轮。功", "法轮功"),  # every character its own "sentence"
    ("ｆｕｃｋ", "fuck"),  # full width
    ("FuCk", "fuck"),
    ("f.u.c.k", "fuck"),
    ("f u c k", "fuck"),
    ("F-U-C-K you", "fuck"),
    ("fu\u200bck", "fuck"),
    ("fück", "fuck"),  # accent
    ("fuсk", "fuck"),  # Cyrillic с
    ("代开發票", "代开发票"),
    ("代 开 发 票", "代开发票"),
    ("Kill   Yourself", "kill yourself"),
    ("kill-yourself", "kill yourself"),
]


@pytest.mark.parametrize("text,term", EVASIONS)
def test_evasion_variants_are_caught(text, term, term_lists):
    matcher = Matcher(term_lists["block"], term_lists["review"])
    found = {m.term for m in matcher.find(f"看这里 {text} 哈哈")}
    assert term in found


def test_matches_map_back_to_the_original_text(term_lists):
    matcher = Matcher(term_lists["block"], term_lists["review"])
    text = "前面的话，Ｆ.u.c.k！还有 法\u200b輪 功。"
    matches = matcher.find(text)
    spans = {m.term: text[m.start:m.end] for m in matches}
    assert spans["fuck"] == "Ｆ.u.c.k"
    assert spans["法轮功"] == "法\u200b輪 功"
    html = highlight_html("a <b> 法 轮", Matcher(["法轮"]).find("a <b> 法 轮"))
    assert html == "a &lt;b&gt; <mark>法 轮</mark>"


def test_latin_terms_match_whole_words_only(term_lists):
    matcher = Matcher(term_lists["block"], term_lists["review"])
    for text in ("classic assessment", "Sussex and Essex", "document the cucumber",
                 "a passionate assistant", "Scunthorpe"):
        assert matcher.find(text) == [], text
    assert [m.term for m in matcher.find("用ass开头")] == ["ass"]  # next to Chinese is a boundary


def test_clauses_meeting_by_chance_do_not_form_a_term(term_lists):
    matcher = Matcher(term_lists["block"], term_lists["review"])
    assert matcher.find("这是好方法。轮到你了") == []
    assert matcher.find("这个方法,轮流用") == []
    assert matcher.find("free. Money is not everything") == []


def test_normal_corpus_never_trips_a_realistic_list(normal_corpus, term_lists):
    assert len(normal_corpus) >= 200
    matcher = Matcher(term_lists["block"], term_lists["review"])
    tripped = {s: [m.term for m in matcher.find(s)] for s in normal_corpus if matcher.find(s)}
    assert tripped == {}


def test_normalize_keeps_an_index_per_character():
    norm = normalize("Ａ\u200bB　c")
    assert norm.text == "ab c"
    assert len(norm.index) == len(norm.text)
    assert norm.index == [0, 2, 3, 4]


def test_check_text_uses_the_stored_lists_and_block_wins(ctx, term_lists):
    assert check_text("法轮功").action == "allow"
    terms.set_terms(term_lists["block"], term_lists["review"])
    verdict = check_text("标题没问题", "加微.信 然后 法 轮 功")
    assert verdict.action == "block"
    assert set(verdict.terms) == {"加微信", "法轮功", "法轮"}
    assert {m.text_index for m in verdict.matches} == {1}
    assert check_text("加 微 信", None).action == "review"
    assert check_text("今天天气很好").action == "allow"


def test_an_edit_reaches_another_process_through_the_revision(ctx):
    terms.set_terms(["apple"], [])
    assert check_text("an apple").action == "block"
    # Another process writes MongoDB and bumps the Redis revision; ours must notice.
    from moderation.models import TermRules

    rules = TermRules.objects(id="terms").first()
    rules.block, rules.review, rules.revision = [], ["apple"], "from-elsewhere"
    rules.save()
    ctx.extensions["redis"].set(terms.REVISION_KEY, "from-elsewhere")
    assert check_text("an apple").action == "review"


def test_a_lost_redis_revision_is_repaired_from_mongodb(ctx):
    terms.set_terms(["pear"], [])
    ctx.extensions["redis"].delete(terms.REVISION_KEY)
    assert check_text("a pear").action == "block"
    assert ctx.extensions["redis"].get(terms.REVISION_KEY)


def test_bad_term_lists_are_refused(ctx):
    from app.errors import ApiError

    with pytest.raises(ApiError) as err:
        terms.set_terms(["x" * 65], [])
    assert err.value.status == 400
    with pytest.raises(ApiError):
        terms.set_terms(["..."], [])
    assert terms.set_terms([" a ", "A", "b"], []) == {"block": ["a", "b"], "review": []}
