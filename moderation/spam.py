"""Spam rules: the same text posted again and again, and posts stuffed with links.

Counting lives in Redis so every web and worker process shares it: per normalized text, the
set of accounts that posted it and how often each did, within a fixed window that starts at
the text's first appearance. Normalizing first means ``Buy NOW!!`` and ``buy now`` are the
same text, and so are the full-width and zero-width variants a spammer rotates through.

Settings (``app.config``, defaults here so nothing else must change to tune them):
``SPAM_WINDOW_SECONDS`` (3600), ``SPAM_REPEAT_ACCOUNTS`` (3 distinct accounts),
``SPAM_REPEAT_SELF`` (3 posts by one account), ``SPAM_MIN_CHARS`` (10: short replies such as
"好看!" or "great post" are legitimately repeated by many people), ``SPAM_MAX_LINKS`` (3).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from flask import current_app

from app.extensions import redis_client
from moderation.normalize import normalize

DEFAULTS = {
    "SPAM_WINDOW_SECONDS": 3600,
    "SPAM_REPEAT_ACCOUNTS": 3,
    "SPAM_REPEAT_SELF": 3,
    "SPAM_MIN_CHARS": 10,
    "SPAM_MAX_LINKS": 3,
}

# http(s) URLs, www. hosts and bare domains with a common top-level domain.
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|cn|io|co|me|info|biz|xyz|top|cc|tk|ru|shop"
    r"|site|online|club|vip|link|ly)\b(?:/[^\s<>\"']*)?"
)

# Atomically record one posting and return (distinct accounts, this account's count).
# Both keys carry the same {hash} tag so the script never spans Redis Cluster slots.
_RECORD = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local mine = redis.call('INCR', KEYS[2])
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return {redis.call('SCARD', KEYS[1]), mine}
"""


@dataclass
class SpamVerdict:
    """Why a piece of content looks like spam; empty ``reasons`` means it does not."""

    reasons: list[str] = field(default_factory=list)  # "repeated_text", "too_many_links"
    links: int = 0
    accounts: int = 0  # distinct accounts that posted this text in the window
    repeats: int = 0  # how often this account posted it in the window

    @property
    def held(self) -> bool:
        return bool(self.reasons)


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def count_links(*texts: str | None) -> int:
    return sum(len(_LINK.findall(text)) for text in texts if text)


def text_fingerprint(*texts: str | None) -> str | None:
    """A hash of the normalized texts, or None when they are too short to judge."""
    canonical = "\n".join(normalize(t).text.replace(" ", "") for t in texts if t)
    if len(canonical.replace("\n", "")) < setting("SPAM_MIN_CHARS"):
        return None
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def check_spam(author_id: str, *texts: str | None, record: bool = True) -> SpamVerdict:
    """Judge one new post or comment by ``author_id``; ``record`` counts it for later ones.

    Call it once per piece of content that is about to be stored (not for refused ones).
    """
    verdict = SpamVerdict(links=count_links(*texts))
    if verdict.links > setting("SPAM_MAX_LINKS"):
        verdict.reasons.append("too_many_links")
    fingerprint = text_fingerprint(*texts)
    if fingerprint is None:
        return verdict
    accounts_key = f"spam:{{{fingerprint}}}:accounts"
    mine_key = f"spam:{{{fingerprint}}}:by:{author_id}"
    if record:
        accounts, mine = redis_client.eval(
            _RECORD, 2, accounts_key, mine_key, str(author_id), setting("SPAM_WINDOW_SECONDS")
        )
    else:
        pipe = redis_client.pipeline(transaction=True)
        pipe.scard(accounts_key)
        pipe.sismember(accounts_key, str(author_id))
        pipe.get(mine_key)
        accounts, member, mine = pipe.execute()
        accounts, mine = accounts + (0 if member else 1), int(mine or 0) + 1
    verdict.accounts, verdict.repeats = int(accounts), int(mine)
    if (verdict.accounts >= setting("SPAM_REPEAT_ACCOUNTS")
            or verdict.repeats >= setting("SPAM_REPEAT_SELF")):
        verdict.reasons.append("repeated_text")
    return verdict
