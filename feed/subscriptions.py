"""Who may receive which live events: the feed's rules behind the Socket.IO server's rooms.

The socket server (app/sockets/) holds connections and puts them in rooms (named by
app/live.py); this module decides which: a signed-in viewer's connection is in its account's
room and, for its own segment, the feed rooms of the authors it follows and has not muted or
blocked. It may subscribe to a post it may see (``feed.visibility``) and to the page of an
account in good standing that has not blocked it. A post's events go to its subscribers only
while each may see it, and an interest-targeted post only to the viewers whose profile
matches its audience (``feed.audience``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app import live
from app.accounts import service as accounts
from app.accounts.models import Account
from feed import audience, graph, hydrate, visibility


@dataclass
class Membership:
    """The rooms a viewer's connection belongs in, and what they are computed from."""

    profile: dict[str, Any] | None
    segment: str
    rooms: set[str]
    pages: set[str]  # the page subscriptions it keeps (author ids)
    posts: dict[str, str]  # the post subscriptions it keeps (post id -> author id)


def viewer(account_id: str | None) -> Account | None:
    """The account a connection acts for (None: anonymous, or gone)."""
    return accounts.get(account_id) if account_id else None


def membership(account: Account | None, pages: set[str], posts: dict[str, str]) -> Membership:
    """The rooms of a connection of ``account`` (None: anonymous) that subscribed to these
    pages and posts: subscriptions to authors who block the viewer are dropped."""
    rooms: set[str] = set()
    blocked: set[str] = set()
    profile = audience.profile_of(account)
    segment = audience.segment(profile)
    if account is not None:
        account_id = str(account.id)
        blocked = graph.blocked_by(account_id)
        authors = graph.following_ids(account_id) - graph.hidden_ids(account_id)
        rooms.add(live.account_room(account_id))
        rooms |= {live.feed_room(author, segment) for author in authors}
    pages = pages - blocked
    posts = {post: author for post, author in posts.items() if author not in blocked}
    rooms |= {live.page_room(author, segment) for author in pages}
    rooms |= {live.post_room(post) for post in posts}
    return Membership(profile, segment, rooms, pages, posts)


def post_author_if_visible(viewer_id: str | None, post_id: str) -> str | None:
    """The post's author id if the viewer may subscribe to it (may see it), else None."""
    item = hydrate.load([post_id]).get(post_id)
    if not visibility.may_see(viewer(viewer_id), item):
        return None
    return item["author_id"]


def may_follow_page(viewer_id: str | None, account_id: str) -> bool:
    """Whether the viewer may subscribe to an account's page: it exists, is not suspended,
    and has not blocked the viewer."""
    author = accounts.get(account_id)
    if author is None or author.suspended:
        return False
    return not (viewer_id and account_id in graph.blocked_by(viewer_id))


def post_receivers(post_id: str) -> Callable[[str | None], bool]:
    """Which subscribers of a post (by viewer id) may get its events now: the post is read
    once, each subscriber is checked against it."""
    item = hydrate.load([post_id]).get(post_id)
    return lambda viewer_id: visibility.may_see(viewer(viewer_id), item)


def public(item: dict[str, Any]) -> bool:
    """Everyone may see the post (published, no audience, its author in good standing), so
    its events need no check per subscriber."""
    if item["status"] != "published" or item["audience"]:
        return False
    author = accounts.public_many([item["author_id"]]).get(item["author_id"])
    return author is not None and not author["suspended"]


def matches(rule: dict[str, Any] | None, profile: dict[str, Any] | None) -> bool:
    """Whether a viewer with this profile is in an interest-targeted post's audience."""
    return audience.matches(rule, profile)
