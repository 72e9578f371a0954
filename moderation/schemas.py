"""Request and response schemas of the moderation API (they validate and make the OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.accounts.schemas import AccountSchema
from app.pagination import PageArgs, page_schema
from app.times import Written
from moderation.models import ACTIONS, REASONS, STATUSES, TARGET_TYPES
from moderation.terms import MAX_TERM_LENGTH, MAX_TERMS


class ModerationQueueArgs(PageArgs):
    status = fields.String(load_default="pending",
                           validate=validate.OneOf((*STATUSES, "all")))
    target_type = fields.String(validate=validate.OneOf(TARGET_TYPES))
    reason = fields.String(validate=validate.OneOf(REASONS))


class TermHighlightSchema(Schema):
    field = fields.String()
    term = fields.String()
    start = fields.Integer(metadata={"description": "code-point offset in the field's text"})
    end = fields.Integer()


class ModerationItemSchema(Schema):
    """A queue item as ``moderation.service.shown_item`` gives it."""

    id = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    target = fields.Dict(allow_none=True,
                         metadata={"description": "the post, comment or account; null if gone"})
    author_id = fields.String(allow_none=True)
    reasons = fields.List(fields.String())
    terms = fields.List(fields.String())
    highlights = fields.List(fields.Nested(TermHighlightSchema))
    reports_count = fields.Integer()
    report_reasons = fields.Dict(keys=fields.String(), values=fields.Integer())
    status = fields.String()
    hidden = fields.Boolean()
    created_at = Written()
    queued_at = Written()
    decided_at = Written(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)


ModerationItemPageSchema = page_schema(ModerationItemSchema)


class ModerationDecisionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


_term = fields.String(validate=validate.Length(1, MAX_TERM_LENGTH))


class TermListsSchema(Schema):
    block = fields.List(_term, required=True, validate=validate.Length(max=MAX_TERMS))
    review = fields.List(_term, required=True, validate=validate.Length(max=MAX_TERMS))


class ModerationAuditArgs(PageArgs):
    target_type = fields.String(validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.String(validate=validate.Length(max=64))


class ModerationAuditSchema(Schema):
    """An audit entry as ``moderation.service.shown_audit`` gives it."""

    id = fields.String()
    moderator = fields.Nested(AccountSchema)
    action = fields.String()
    item_id = fields.String(allow_none=True)
    target_type = fields.String()
    target_id = fields.String()
    reason = fields.String()
    at = Written()


ModerationAuditPageSchema = page_schema(ModerationAuditSchema)


class ModerationReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class ModeratedAccountSchema(AccountSchema):
    suspended = fields.Boolean()


class ReportCreateSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 64))
    details = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=2000))


class ReportSchema(Schema):
    id = fields.String()
    reporter_id = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    reason = fields.String()
    details = fields.String(allow_none=True)
    created_at = Written()
