"""Moderation fixtures: a realistic term list, the normal-text corpus, moderators."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# What a real platform's lists look like: distinctive words and phrases, some of them short
# and some of them inside ordinary words (cum -> document, sex -> Essex, ass -> class).
BLOCK = [
    "法轮功", "法轮", "六合彩", "代开发票", "办证刻章", "出售枪支", "冰毒", "海洛因", "摇头丸",
    "裸聊", "援交", "赌博网站", "信用卡套现", "迷药", "代孕", "枪支弹药", "毒品交易",
    "fuck", "motherfucker", "cunt", "nigger", "kill yourself", "child porn", "asshole", "ass",
]
REVIEW = [
    "加微信", "微信号", "加我qq", "兼职刷单", "刷单", "日赚", "网赚", "高利贷", "色情",
    "赌博", "私服", "外挂", "约炮", "viagra", "casino bonus", "whatsapp me", "onlyfans",
    "crypto giveaway", "free money", "porn", "cumshot", "tits", "shit", "nazi", "sex",
]


@pytest.fixture
def term_lists() -> dict[str, list[str]]:
    return {"block": list(BLOCK), "review": list(REVIEW)}


@pytest.fixture(scope="session")
def normal_corpus() -> list[str]:
    lines: list[str] = []
    for name in ("article_sentences.txt", "normal_sentences.txt"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                lines.append(line)
    return lines


@pytest.fixture
def moderator(make_account):
    return make_account("fan", roles=("moderator",))


@pytest.fixture
def limits_scale(app):
    """Set ``RATELIMIT_SCALE`` for one test; restored afterwards."""
    saved = app.config.get("RATELIMIT_SCALE")

    def set_scale(value: float) -> None:
        app.config["RATELIMIT_SCALE"] = value

    yield set_scale
    app.config["RATELIMIT_SCALE"] = saved


@pytest.fixture(autouse=True)
def _generous_limits(request):
    """Tests that are not about rate limits must not trip them; the limit tests opt out."""
    if "app" not in request.fixturenames or "real_limits" in request.fixturenames:
        yield
        return
    set_scale = request.getfixturevalue("limits_scale")
    set_scale(1000)
    yield


@pytest.fixture
def real_limits(limits_scale):
    limits_scale(1)
