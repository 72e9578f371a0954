"""``@username`` in posts and comments: the mentioned accounts are notified (``mention``).

A mention notifies only an account that may see the post it is in (audience, blocks,
status: ``posts.get_visible`` decides) and that has not blocked or muted the author
(``notifications.notify``). Each account is told once per post or comment, however often the
post is saved or a job runs again; an edit that adds a name tells only the new name.
At most ``MAX_MENTIONS`` names per text are honoured.
"""

from __future__ import annotations

import re
from typing import Any

from app.accounts import service as accounts
from app.accounts.models import Account
from app.errors import ApiError
from feed import notifications, posts
from feed.models import Notification

MAX_MENTIONS = 10
# a name after a non-word, non-@ character (e-mail addresses and @@ are not mentions)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})(?![\w])")


def usernames_in(*texts: str | None) -> list[str]:
    """The distinct usernames mentioned (case-folded), in order of appearance."""
    found: list[str] = []
    for text in texts:
        for name in _MENTION.findall(text or ""):
            key = accounts.username_key(name)
            if key not in found:
                found.append(key)
    return found[:MAX_MENTIONS]


def mentioned_accounts(*texts: str | None) -> list[Account]:
    names = usernames_in(*texts)
    if not names:
        return []
    return [a for a in Account.objects(username_key__in=names) if not a.suspended]


def may_see(post_id: object, viewer: Account) -> bool:
    try:
        posts.get_visible(str(post_id), viewer)
    except ApiError:
        return False
    return True


def notify_mentions(author: Account, post_id: object, texts: list[str | None],
                    comment_id: object | None = None, skip: set[str] | None = None) -> None:
    """Tell each account mentioned in ``texts`` (not in ``skip``) that may see the post."""
    for account in mentioned_accounts(*texts):
        key = str(account.id)
        if key == str(author.id) or key in (skip or set()):
            continue
        if Notification.objects(account=account.id, type="mention", post_id=post_id,
                                comment_id=comment_id).first() is not None:
            continue  # told already (a re-save, a job run twice)
        if may_see(post_id, account):
            notifications.notify(account.id, "mention", author, post_id, comment_id=comment_id)


def on_post_saved(post: Any, before: str | None = None, **_: Any) -> None:
    """A published post (new, or edited) tells the accounts it mentions."""
    if post.status != "published":
        return
    author = accounts.get(post.author)
    if author is not None:
        notify_mentions(author, post.id, [post.text, getattr(post, "title", None),
                                          getattr(post, "body", None)])
