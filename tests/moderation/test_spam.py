"""Spam rules on a real Redis: repeated text within a window, and link-stuffed posts."""

from __future__ import annotations

import pytest

from moderation.spam import check_spam, count_links

AD = "加我微信 abc123，日入过千，名额有限！"


@pytest.fixture
def spam_settings(ctx):
    saved = {k: ctx.config.get(k) for k in ("SPAM_REPEAT_ACCOUNTS", "SPAM_REPEAT_SELF")}
    ctx.config.update(SPAM_REPEAT_ACCOUNTS=3, SPAM_REPEAT_SELF=3)
    yield ctx.config
    for key, value in saved.items():
        if value is None:
            ctx.config.pop(key, None)
        else:
            ctx.config[key] = value


def test_the_same_text_from_many_accounts_is_held_at_the_threshold(spam_settings):
    assert not check_spam("a1", AD).held
    # Variants normalize to the same text: width, case, spacing, zero-width characters.
    assert not check_spam("a2", "加我微信 ＡＢＣ123,日入过千, 名额有限!").held
    third = check_spam("a3", "加我微信\u200babc123 日入过千 名额有限")
    assert third.held and third.reasons == ["repeated_text"] and third.accounts == 3
    assert check_spam("a4", AD).held


def test_the_same_text_from_one_account_is_held_at_the_threshold(spam_settings):
    assert [check_spam("solo", AD).held for _ in range(4)] == [False, False, True, True]
    assert not check_spam("solo", "a completely different announcement today").held


def test_thresholds_are_configurable(spam_settings):
    spam_settings["SPAM_REPEAT_ACCOUNTS"] = 2
    assert not check_spam("b1", AD).held
    assert check_spam("b2", AD).held


def test_short_common_replies_are_never_counted(spam_settings):
    assert not any(check_spam(f"fan{i}", "好看!").held for i in range(10))
    assert not any(check_spam(f"fan{i}", "Great post").held for i in range(10))


def test_a_dry_run_does_not_count(spam_settings):
    for _ in range(5):
        assert not check_spam("c1", AD, record=False).held
    assert not check_spam("c1", AD).held


def test_counts_expire_with_the_window(spam_settings):
    from app.extensions import redis_client

    check_spam("d1", AD)
    ttls = [redis_client.ttl(k) for k in redis_client.scan_iter("spam:*")]
    assert ttls and all(0 < t <= 3600 for t in ttls)


def test_posts_with_many_links_are_held(spam_settings):
    text = ("deals: https://a.example.com/x http://b.example.org www.c-shop.cn/buy "
            "and d-store.xyz")
    assert count_links(text) == 4
    verdict = check_spam("e1", text)
    assert verdict.held and "too_many_links" in verdict.reasons
    assert not check_spam("e2", "my shop: https://shop.example.com and www.example.com").held
