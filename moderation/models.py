"""Moderation's documents: term lists, queue items, reports and the audit log.

Ids of accounts and targets are stored as strings: a queue item points at a post, a comment
or an account, and the audit log must outlive what it talks about (a deleted post or account
leaves its decisions readable).
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    Document,
    IntField,
    ListField,
    StringField,
)

from app.times import utcnow

TARGET_TYPES = ("post", "comment", "account")
REASONS = ("terms", "reports", "fan_video", "spam")
STATUSES = ("pending", "approved", "rejected", "removed", "restored")
ACTIONS = ("approve", "reject", "remove", "restore")


class TermRules(Document):
    """The one set of term lists; ``revision`` changes on every edit (see ``terms``)."""

    id = StringField(primary_key=True, default="terms")
    block = ListField(StringField())
    review = ListField(StringField())
    revision = StringField(required=True)
    updated_at = DateTimeField(default=utcnow)
    updated_by = StringField()

    meta = {"collection": "moderation_terms"}


class ModerationItem(Document):
    """One target in the queue; a target has at most one item, reopened by new reasons."""

    target_type = StringField(required=True, choices=TARGET_TYPES)
    target_id = StringField(required=True)
    author_id = StringField()
    reasons = ListField(StringField(choices=REASONS))
    terms = ListField(StringField())
    reports_count = IntField(default=0)
    status = StringField(required=True, choices=STATUSES, default="pending")
    # True while the target is hidden because of reports and no moderator has decided yet.
    hidden_by_reports = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    queued_at = DateTimeField(default=utcnow)  # first queued, or reopened by a new reason
    updated_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    decided_by = StringField(null=True)
    decision = StringField(null=True, choices=ACTIONS)
    decision_reason = StringField(null=True)

    meta = {
        "collection": "moderation_items",
        "indexes": [
            {"fields": ["target_type", "target_id"], "unique": True},
            {"fields": ["status", "queued_at"]},
            {"fields": ["status", "-updated_at"]},
        ],
        "shard_key": ("target_type", "target_id"),
    }


class Report(Document):
    """One report; the id is ``reporter:target_type:target_id`` so a second one conflicts."""

    id = StringField(primary_key=True)
    reporter_id = StringField(required=True)
    target_type = StringField(required=True, choices=TARGET_TYPES)
    target_id = StringField(required=True)
    reason = StringField(required=True)
    details = StringField()
    created_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "moderation_reports",
        "indexes": [{"fields": ["target_type", "target_id"]}],
        # one reporter's second report of a target lands on the same shard: its id conflicts
        "shard_key": ("target_type", "target_id"),
    }

    @staticmethod
    def key(reporter_id: str, target_type: str, target_id: str) -> str:
        return f"{reporter_id}:{target_type}:{target_id}"


class AuditEntry(Document):
    """Who did what to which target, when and why; never edited or deleted."""

    moderator_id = StringField(required=True)
    action = StringField(required=True)  # a decision, or suspend/reinstate/verify/...
    item_id = StringField(null=True)
    target_type = StringField(required=True)
    target_id = StringField(required=True)
    reason = StringField()
    at = DateTimeField(default=utcnow)

    meta = {"collection": "moderation_audit", "indexes": [{"fields": ["-at"]}]}
