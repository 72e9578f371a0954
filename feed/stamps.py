"""What a kept feed page is stamped with, and what moves those stamps.

A page kept ready (the home feed's first page, ``pagecache``; the for-you feed's, ``foryou``)
is stamped with these values as read before it was built; when one has moved since, the page
is stale:

- the viewer's own version, moved by what the viewer does (likes, comments, follows,
  blocks, profile);
- the feed epochs: ``posts``, moved when a post that others could see is edited, removed or
  deleted, or an author with posts changes (suspension, name); ``pulled``, moved when an
  author above ``FANOUT_MAX_FOLLOWERS`` publishes (only pages that pull such authors check it).
"""

from __future__ import annotations

import zlib
from typing import Any

from app.extensions import redis_client

# The epochs are a hash ("posts" and "pulled": one read for both) kept in EPOCH_COPIES
# copies on different Cluster slots: every home read reads one (chosen by the viewer), so
# no single shard serves them all; the rare changes move every copy.
EPOCH_COPIES = 16
VERSION_SECONDS = 24 * 3600  # far longer than any page lives


def version_key(account_id: object) -> str:
    return f"page-version:{{{account_id}}}"


def viewer_changed(*account_ids: object) -> None:
    """Something these accounts did changes their own feed pages (likes, follows, blocks)."""
    pipe = redis_client.pipeline(transaction=False)
    for account_id in account_ids:
        pipe.incr(version_key(account_id))
        pipe.expire(version_key(account_id), VERSION_SECONDS)
    pipe.execute()


def epochs_key(copy: int) -> str:
    return f"feed:epochs:{{{copy}}}"


def epochs_key_for(viewer_id: object) -> str:
    return epochs_key(zlib.crc32(str(viewer_id).encode()) % EPOCH_COPIES)


def _move_epoch(field: str) -> None:
    pipe = redis_client.pipeline(transaction=False)
    for copy in range(EPOCH_COPIES):
        pipe.hincrby(epochs_key(copy), field, 1)
    pipe.execute()


def posts_changed() -> None:
    """A post others could see changed or went: every kept page is stale."""
    _move_epoch("posts")


def pulled_changed() -> None:
    """A pulled author published: kept pages that pull authors are stale."""
    _move_epoch("pulled")


def on_account_changed(account: Any, **_: Any) -> None:
    """``account_changed`` receiver: the viewer's audience profile, and (for an author with
    posts) the name, avatar and suspension shown on others' pages."""
    viewer_changed(account.id)
    if account.posts_count:
        posts_changed()
