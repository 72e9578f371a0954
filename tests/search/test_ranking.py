"""The embedded engine's exact rescoring gives what rescoring every match would give."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from search import embedded
from search.analysis import parse_query
from search.engine import SearchRequest
from search.ranking import RECENCY_STEPS, bonus, post_recency_bonuses, recency_bonuses
from tests.search.support import NOW, account, post


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Posts of many ages and text scores, and accounts of many follower counts."""
    rng = random.Random(5)
    words = ["口红", "试色", "面膜", "火锅", "穿搭", "今天", "真的", "好用"]
    docs = []
    for i in range(300):
        text = "".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        docs.append(post(text, age=timedelta(hours=rng.choice([1, 30, 200, 1000, 9000, 20000])),
                         post_id=f"p{i}"))
    for i in range(40):
        docs.append(account(f"user{i}", "口红" * rng.randint(1, 3),
                            followers=rng.choice([0, 150, 20_000, 2_000_000]),
                            account_id=f"a{i}"))
    engine = embedded.EmbeddedEngine(tmp_path_factory.mktemp("ranking") / "search")
    engine.recreate(docs)
    yield engine
    engine.close()


@pytest.mark.parametrize("first_fetch", [4, 16, 128])
@pytest.mark.parametrize("need", [1, 5, 21, 60])
@pytest.mark.parametrize("q", ["口红", "口红 试色", "火锅"])
def test_rescoring_the_head_equals_rescoring_every_match(corpus, monkeypatch, first_fetch,
                                                          need, q):
    monkeypatch.setattr(embedded, "_FIRST_FETCH", first_fetch)
    searcher = corpus._live().searcher()
    query = corpus.build_query(SearchRequest(parse_query(q)))
    origin = int(NOW.timestamp())
    everything = searcher.search(query, 10_000, count=True).hits
    addresses = [address for _, address in everything]
    created = searcher.fast_field_values("created", addresses)
    followers = searcher.fast_field_values("followers", addresses)
    expected = sorted(((score + bonus(c, f, origin), -i, address.segment_ord, address.doc)
                       for i, ((score, address), c, f)
                       in enumerate(zip(everything, created, followers, strict=True))),
                      reverse=True)[:need]

    ranked, total = corpus._ranked(searcher, query, need, origin)

    assert total == len(everything)
    assert [(score, a.segment_ord, a.doc) for score, a in ranked] == [
        (score, segment, doc) for score, _, segment, doc in expected]


def test_recency_bonuses_equal_bonus_at_every_step_edge():
    """The batch form (creation-time bounds) adds what :func:`bonus` adds, edges included."""
    origin = 1_790_000_000
    ages = [0, 1, -5, 10**9]
    for age, _ in RECENCY_STEPS:
        seconds = int(age.total_seconds())
        ages += [seconds - 1, seconds, seconds + 1]
    created = [origin - age for age in ages]
    expected = [bonus(ts, None, origin) for ts in created]
    assert post_recency_bonuses(created, origin) == expected
    assert recency_bonuses(created, origin) == expected
    assert recency_bonuses([*created, None], origin) == [*expected, 0.0]
