"""How moderation reaches what it moderates, without owning it.

Posts and comments belong to ``feed``, accounts to ``app.accounts``. Each kind of target is
reached through a ``Target``: load it, check a reporter may see it, find its author, show
it to a moderator, list its texts (for highlights) and apply an action to it. Applying goes
through the owner's own functions (``feed.posts.set_status`` refreshes caches, fans out
what becomes published and sends ``post_saved``; ``feed.interactions.set_comment_status``
keeps counts and events right), so feeds, pages and counts follow at once.

Actions given to ``apply``: ``hide`` (reports reached the threshold: hold it until a
moderator decides), ``approve``, ``reject``, ``remove``, ``restore``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from app.accounts import service as accounts
from app.accounts.models import Account
from app.api import Shown
from app.errors import ApiError
from feed import hydrate, interactions, posts
from feed.models import Comment, Post
from feed.schemas import CommentSchema
from moderation.schemas import ModeratedAccountSchema

# What each action makes of a post's or comment's ``status``.
CONTENT_STATUS = {
    "hide": "pending_review",
    "approve": "published",
    "reject": "rejected",
    "remove": "removed",
    "restore": "published",
}
# Approving or restoring publishes only what moderation held; never a processing or failed one.
_PUBLISHABLE_FROM = ("pending_review", "rejected", "removed")


@dataclass
class Target:
    """One kind of moderated thing; every callable but ``load`` takes the loaded object."""

    load: Callable[[str], Any | None]
    author_id: Callable[[Any], str | None]
    to_json: Callable[[Any], dict]
    apply: Callable[[Any, str], None]
    texts: Callable[[Any], dict[str, str]] = lambda obj: {}
    # Whether a reporter may see it: reports on hidden things are 404s, so nothing leaks.
    visible_to: Callable[[Any, Any], bool] = lambda obj, viewer: True


def get_target(target_type: str) -> Target:
    return _TARGETS[target_type]


def load_for_reporter(target_type: str, target_id: str, reporter: Any) -> Any:
    """The target if ``reporter`` may see it; 404 otherwise (nothing about it leaks)."""
    target = get_target(target_type)
    obj = target.load(target_id)
    if obj is None or not target.visible_to(obj, reporter):
        raise ApiError(404, "not_found", f"no such {target_type}")
    return obj


def _valid(value: str) -> bool:
    return ObjectId.is_valid(value)


# -- accounts -------------------------------------------------------------------------

def _account_target() -> Target:
    def load(target_id: str):
        return Account.objects(id=target_id).first() if _valid(target_id) else None

    def to_json(account) -> dict:
        return ModeratedAccountSchema().dump(account)

    def apply(account, action: str) -> None:
        # Reports never hide an account by themselves (a brigade of fresh accounts must not
        # silence someone): a moderator suspends it by rejecting or removing.
        if action in ("reject", "remove") and not account.suspended:
            accounts.set_suspended(account, True)
        elif action == "restore" and account.suspended:
            accounts.set_suspended(account, False)

    return Target(
        load, lambda account: str(account.id), to_json, apply,
        texts=lambda account: {"display_name": account.display_name or "",
                               "bio": account.bio or ""},
        visible_to=lambda account, viewer: not account.suspended,
    )


# -- posts and comments (feed) -----------------------------------------------------------

def _post_target() -> Target:
    def load(target_id: str):
        return Post.objects(id=target_id).first() if _valid(target_id) else None

    def to_json(post) -> dict:
        found = hydrate.posts_json([str(post.id)], None, check=False)
        data = found[0] if found else {"id": str(post.id), "status": post.status}
        data["body"] = post.body  # the Markdown the highlights point into
        return data

    def apply(post, action: str) -> None:
        status = CONTENT_STATUS[action]
        if action == "hide" and post.status != "published":
            return  # nobody else sees it anyway; a moderator decides what it becomes
        if action in ("approve", "restore") and post.status not in _PUBLISHABLE_FROM:
            return
        if post.status != status:
            posts.set_status(post, status)

    def texts(post) -> dict[str, str]:
        found = {"text": post.text or "", "title": post.title or "", "body": post.body or ""}
        for index, product in enumerate(post.products):
            found[f"products.{index}.title"] = product.title or ""
        return found

    def visible_to(post, viewer) -> bool:
        try:
            posts.get_visible(str(post.id), viewer)
        except ApiError:
            return False
        return True

    return Target(load, lambda post: str(post.author), to_json, apply, texts, visible_to)


def _comment_target() -> Target:
    def load(target_id: str):
        return Comment.objects(id=target_id).first() if _valid(target_id) else None

    def to_json(comment) -> dict:
        return CommentSchema().dump(Shown(comment, author=accounts.get(comment.author)))

    def apply(comment, action: str) -> None:
        status = CONTENT_STATUS[action]
        if action == "hide" and comment.status != "published":
            return
        interactions.set_comment_status(comment, status)  # a no-op when already there

    def visible_to(comment, viewer) -> bool:
        if comment.status != "published" and comment.author != getattr(viewer, "id", None):
            return False
        try:
            posts.get_visible(str(comment.post), viewer)
        except ApiError:
            return False
        return True

    return Target(load, lambda comment: str(comment.author), to_json, apply,
                  lambda comment: {"text": comment.text or ""}, visible_to)


_TARGETS: dict[str, Target] = {
    "account": _account_target(),
    "post": _post_target(),
    "comment": _comment_target(),
}
