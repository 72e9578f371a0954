"""Moderation operations shared by the REST views, the feed, jobs and CLI commands.

``screen_content`` is the one screen of every user text (``app.screening``): 422
``content_blocked`` for block terms, otherwise the reasons to store new content as
``pending_review``; the owner then sends ``content_held`` and ``on_content_held`` queues
it. Reports, decisions, suspensions and verification are here too; every decision is
written to the audit log, announced with ``app.signals.moderation_decided`` and told to the
author live (``moderation.decision``).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app, has_request_context, request
from mongoengine import NotUniqueError

from app import live, signals
from app.accounts import service as accounts
from app.accounts.models import Account
from app.api import Shown
from app.errors import ApiError
from app.pagination import by_time_then_id
from app.times import utcnow
from moderation import terms as term_rules
from moderation.models import (
    ACTIONS,
    REASONS,
    TARGET_TYPES,
    AuditEntry,
    ModerationItem,
    Report,
)
from moderation.spam import check_spam
from moderation.targets import get_target, load_for_reporter
from moderation.terms import Matcher, check_text

# Which item statuses each action may leave from (anything else is a 409).
TRANSITIONS = {
    "approve": ("pending",),
    "reject": ("pending",),
    "remove": ("pending", "approved", "restored"),
    "restore": ("rejected", "removed"),
}
RESULT = {"approve": "approved", "reject": "rejected", "remove": "removed",
          "restore": "restored"}


# -- screening new content (registered with app.screening) --------------------------------

# Texts that are not posts or comments: only the term lists apply (no repeat counting).
_NOT_SPAM_CHECKED = ("profile", "campaign")


def screen_content(account: Any, kind: str, texts: list[str], **context: Any) -> list[str]:
    """Reasons to hold new or edited content (``terms``, ``spam``); 422 on a block term.

    ``kind`` is the post kind, ``"comment"``, ``"profile"`` or ``"campaign"``. Edits
    (``context["edit"]``, or a PATCH request) are not counted as repeats: re-saving one's
    own text is not spam.
    """
    verdict = check_text(*texts)
    if verdict.blocked:
        raise ApiError(422, "content_blocked", "the text contains words that are not allowed")
    reasons = ["terms"] if verdict.needs_review else []
    if kind in _NOT_SPAM_CHECKED or account is None:
        return reasons
    edit = context.get("edit")
    if edit is None:
        edit = has_request_context() and request.method in ("PATCH", "PUT")
    spam = check_spam(str(account.id), *texts, record=not edit)
    if "too_many_links" in spam.reasons or (not edit and spam.held):
        reasons.append("spam")
    return reasons


def flagged(text: str) -> bool:
    """A block or review term is in the text (tag suggestions leave it out)."""
    return bool(check_text(text).matches)


_TARGET_TYPES = {"Comment": "comment", "Account": "account"}


def on_content_held(content: Any, reasons: list[str] | tuple = (), **_: Any) -> None:
    """``content_held`` receiver: queue a post or comment the feed stored as pending_review,
    or an account whose profile holds a review term."""
    target_type = _TARGET_TYPES.get(type(content).__name__, "post")
    terms: list[str] = []
    if "terms" in reasons:
        texts = get_target(target_type).texts(content)
        terms = check_text(*texts.values()).terms
    author_id = content.id if target_type == "account" else getattr(content, "author", None)
    for reason in reasons:
        if reason in REASONS:
            enqueue(target_type, content.id, reason, terms, author_id=author_id)


def on_target_deleted(target: Any, **_: Any) -> None:
    """``post_deleted`` / ``account_deleted`` receiver: nothing is left to decide.

    Pending items of a deleted post or account leave the queue; decided ones and the audit
    log stay (the history outlives the content).
    """
    target_type = "account" if type(target).__name__ == "Account" else "post"
    ModerationItem.objects(target_type=target_type, target_id=str(target.id),
                           status="pending").delete()


# -- the queue ----------------------------------------------------------------------------

def _check_target_type(target_type: str) -> None:
    if target_type not in TARGET_TYPES:
        raise ValueError(f"unknown target type {target_type!r}")


def enqueue(
    target_type: str, target_id: object, reason: str, terms: tuple | list = (),
    author_id: object = None,
) -> ModerationItem:
    """Put a target in the queue (or add a reason to its item, reopening a decided one).

    The target's own status is its owner's business: the feed stores held content as
    ``pending_review`` before calling this.
    """
    _check_target_type(target_type)
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    target_id = str(target_id)
    if author_id is None:
        target = get_target(target_type)
        obj = target.load(target_id)
        author_id = target.author_id(obj) if obj is not None else None
    item = _upsert(target_type, target_id, author_id, reason, terms)
    _reopen(item)
    return item


def _upsert(target_type: str, target_id: str, author_id: object, reason: str,
            terms: tuple | list = (), reports: int = 0) -> ModerationItem:
    now = utcnow()
    updates: dict[str, Any] = {
        "set_on_insert__created_at": now,
        "set_on_insert__queued_at": now,
        "set_on_insert__status": "pending",
        "set_on_insert__hidden_by_reports": False,
        "set__updated_at": now,
        "add_to_set__reasons": [reason],
    }
    if author_id is not None:
        updates["set__author_id"] = str(author_id)
    if terms:
        updates["add_to_set__terms"] = list(terms)
    if reports:
        updates["inc__reports_count"] = reports
    query = ModerationItem.objects(target_type=target_type, target_id=target_id)
    try:
        return query.modify(upsert=True, new=True, **updates)
    except NotUniqueError:  # two first reasons raced on the unique index: add to the winner
        return query.modify(new=True, **{k: v for k, v in updates.items()
                                         if not k.startswith("set_on_insert__")})


def _reopen(item: ModerationItem) -> None:
    """A decided item that gets a new reason goes back to the queue."""
    if item.status == "pending":
        return
    reopened = ModerationItem.objects(id=item.id, status=item.status).modify(
        new=True, set__status="pending", set__queued_at=utcnow())
    if reopened is not None:
        item.status, item.queued_at = reopened.status, reopened.queued_at


def get_item(item_id: str) -> ModerationItem:
    item = ModerationItem.objects(id=item_id).first() if ObjectId.is_valid(item_id) else None
    if item is None:
        raise ApiError(404, "not_found", "no such moderation item")
    return item


def item_for(target_type: str, target_id: object) -> ModerationItem | None:
    """The queue item of a target, if it has one (e.g. was this fan video approved?)."""
    return ModerationItem.objects(target_type=target_type, target_id=str(target_id)).first()


def list_items(status: str = "pending", target_type: str | None = None,
               reason: str | None = None, limit: int = 20,
               cursor: str | None = None) -> tuple[list[ModerationItem], str | None]:
    """Pending items oldest first (a queue); decided ones most recently decided first."""
    query = ModerationItem.objects
    if status != "all":
        query = query.filter(status=status)
    if target_type:
        query = query.filter(target_type=target_type)
    if reason:
        query = query.filter(reasons=reason)
    ascending = status == "pending"
    key = "queued_at" if ascending else "updated_at"
    return by_time_then_id(query, key, limit, cursor, ascending=ascending)


def shown_item(item: ModerationItem) -> Shown:
    """The queue item with what a moderator needs to decide (the target, the terms found in
    it, the reports' reasons): what ``ModerationItemSchema`` dumps."""
    target = get_target(item.target_type)
    obj = target.load(item.target_id)
    highlights: list[dict] = []
    if obj is not None and item.terms:
        matcher = Matcher(block=(), review=list(item.terms))
        for name, text in target.texts(obj).items():
            highlights.extend({"field": name, "term": m.term, "start": m.start, "end": m.end}
                              for m in matcher.find(text or ""))
    reports = Report.objects(target_type=item.target_type, target_id=item.target_id)
    report_reasons: dict[str, int] = {}
    for report in reports.only("reason"):
        report_reasons[report.reason] = report_reasons.get(report.reason, 0) + 1
    return Shown(item, target=target.to_json(obj) if obj is not None else None,
                 highlights=highlights, report_reasons=report_reasons,
                 hidden=bool(item.hidden_by_reports))


# -- reports ------------------------------------------------------------------------------

def report(reporter: Any, target_type: str, target_id: str, reason: str,
           details: str | None = None) -> Report:
    """One report per reporter and target (409 on a second); enough distinct reporters hide
    the target until a moderator decides (``REPORT_HIDE_THRESHOLD``)."""
    _check_target_type(target_type)
    target = get_target(target_type)
    obj = load_for_reporter(target_type, target_id, reporter)
    reporter_id = str(reporter.id)
    entry = Report(id=Report.key(reporter_id, target_type, target_id), reporter_id=reporter_id,
                   target_type=target_type, target_id=target_id, reason=reason,
                   details=details or None)
    try:
        entry.save(force_insert=True)
    except NotUniqueError:
        raise ApiError(409, "already_reported",
                       f"you have already reported this {target_type}") from None
    item = _upsert(target_type, target_id, target.author_id(obj), "reports", reports=1)
    trusted = item.decision in ("approve", "restore")
    _reopen(item)
    threshold = current_app.config.get("REPORT_HIDE_THRESHOLD", 5)
    if item.reports_count >= threshold and item.status == "pending" and not trusted:
        # Exactly one request flips the flag, so the target is hidden once.
        won = ModerationItem.objects(id=item.id, hidden_by_reports__ne=True).modify(
            new=True, set__hidden_by_reports=True)
        if won is not None:
            target.apply(obj, "hide")
    return entry


# -- decisions ----------------------------------------------------------------------------

def decide(item_id: str, moderator: Any, action: str, reason: str | None = None
           ) -> ModerationItem:
    """Apply a moderator's decision to the target, log it, announce it, tell the author."""
    if action not in ACTIONS:
        raise ApiError(400, "validation_error", "unknown action",
                       {"action": [f"one of {', '.join(ACTIONS)}"]})
    item = get_item(item_id)
    if item.status not in TRANSITIONS[action]:
        raise ApiError(409, "invalid_transition",
                       f"cannot {action} an item that is {item.status}")
    now = utcnow()
    decided = ModerationItem.objects(id=item.id, status=item.status).modify(
        new=True, set__status=RESULT[action], set__decided_at=now, set__updated_at=now,
        set__decided_by=str(moderator.id), set__decision=action,
        set__decision_reason=reason or "", set__hidden_by_reports=False)
    if decided is None:  # another moderator decided first
        raise ApiError(409, "invalid_transition", "the item was decided meanwhile")
    target = get_target(item.target_type)
    obj = target.load(item.target_id)
    if obj is not None:
        try:
            target.apply(obj, action)
        except Exception:
            # The target did not change: neither does the item (a retry must be possible).
            ModerationItem.objects(id=item.id).update_one(
                set__status=item.status, set__decided_at=item.decided_at,
                set__decided_by=item.decided_by, set__decision=item.decision,
                set__decision_reason=item.decision_reason,
                set__hidden_by_reports=bool(item.hidden_by_reports))
            raise
    _audit(moderator, action, item.target_type, item.target_id, reason, item_id=decided.id)
    signals.moderation_decided.send(decided)
    if decided.author_id:
        live.emit("moderation.decision",
                  {"target_type": decided.target_type, "target_id": decided.target_id,
                   "action": action, "reason": reason or ""},
                  room=live.account_room(decided.author_id))
    return decided


def _audit(moderator: Any, action: str, target_type: str, target_id: str,
           reason: str | None, item_id: object = None) -> AuditEntry:
    return AuditEntry(moderator_id=str(moderator.id), action=action,
                      item_id=str(item_id) if item_id else None, target_type=target_type,
                      target_id=str(target_id), reason=reason or "").save()


def list_audit(limit: int = 20, cursor: str | None = None, target_type: str | None = None,
               target_id: str | None = None) -> tuple[list[AuditEntry], str | None]:
    """Newest first."""
    query = AuditEntry.objects
    if target_type:
        query = query.filter(target_type=target_type)
    if target_id:
        query = query.filter(target_id=target_id)
    return by_time_then_id(query, "at", limit, cursor)


def shown_audit(entry: AuditEntry, moderators: dict | None = None) -> Shown:
    """An audit entry with its moderator's account (just the id once gone): what
    ``ModerationAuditSchema`` dumps."""
    moderator = (moderators or {}).get(entry.moderator_id)
    return Shown(entry, moderator=moderator or {"id": entry.moderator_id},
                 reason=entry.reason or "")


def set_terms(block: list[str], review: list[str], moderator: Any) -> dict:
    """Replace the term lists (every process picks them up) and log who did it."""
    saved = term_rules.set_terms(block, review, updated_by=str(moderator.id))
    _audit(moderator, "terms_update", "terms", "terms",
           f"block: {len(saved['block'])} terms, review: {len(saved['review'])} terms")
    return saved


# -- accounts: suspension and the verified badge -------------------------------------------

def _account(account_id: str):
    account = Account.objects(id=account_id).first() if ObjectId.is_valid(account_id) else None
    if account is None:
        raise ApiError(404, "not_found", "no such account")
    return account


def suspend(account_id: str, moderator: Any, reason: str | None = None):
    """Tokens stop working and sockets close at once; content is hidden by its owners
    (``account_changed`` is sent). Only admins suspend moderators; nobody suspends itself."""
    account = _account(account_id)
    if str(account.id) == str(moderator.id):
        raise ApiError(403, "forbidden", "you cannot suspend yourself")
    if account.roles and not moderator.has_role("admin"):
        raise ApiError(403, "forbidden", "only an admin can suspend a moderator or an admin")
    if not account.suspended:
        account = accounts.set_suspended(account, True)
    _audit(moderator, "suspend", "account", account.id, reason)
    return account


def reinstate(account_id: str, moderator: Any, reason: str | None = None):
    account = _account(account_id)
    if account.suspended:
        account = accounts.set_suspended(account, False)
    _audit(moderator, "reinstate", "account", account.id, reason)
    return account


def set_verified(account_id: str, moderator: Any, verified: bool, reason: str | None = None):
    account = _account(account_id)
    if account.verified != verified:
        account = accounts.update(account, {"verified": verified})
    _audit(moderator, "verify" if verified else "unverify", "account", account.id, reason)
    return account

