"""REST routes of the moderation package (under /api/v1): thin views over ``service``.

Every ``/moderation/...`` route needs the ``moderator`` role (admins have it); reports are
open to any signed-in account.
"""

from __future__ import annotations

from flask import g

from app.accounts.service import get_many
from app.api import Blueprint
from app.auth import auth_required
from app.idempotency import idempotent
from app.pagination import page
from app.ratelimits import limit
from moderation import service, terms
from moderation.models import Report
from moderation.schemas import (
    ModeratedAccountSchema,
    ModerationAuditArgs,
    ModerationAuditPageSchema,
    ModerationDecisionSchema,
    ModerationItemPageSchema,
    ModerationItemSchema,
    ModerationQueueArgs,
    ModerationReasonSchema,
    ReportCreateSchema,
    ReportSchema,
    TermListsSchema,
)

bp = Blueprint("moderation", __name__, description="Moderation, reports and term rules")

@bp.get("/moderation/queue")
@auth_required("moderator")
@bp.arguments(ModerationQueueArgs, location="query")
@bp.response(200, ModerationItemPageSchema)
def queue(args):
    items, next_cursor = service.list_items(
        status=args["status"], target_type=args.get("target_type"), reason=args.get("reason"),
        limit=args["limit"], cursor=args.get("cursor"))
    return page([service.shown_item(item) for item in items], next_cursor)


@bp.get("/moderation/queue/<string:item_id>")
@auth_required("moderator")
@bp.response(200, ModerationItemSchema)
def queue_item(item_id):
    return service.shown_item(service.get_item(item_id))


@bp.post("/moderation/queue/<string:item_id>/decision")
@auth_required("moderator")
@bp.arguments(ModerationDecisionSchema)
@bp.response(200, ModerationItemSchema)
def decision(data, item_id):
    item = service.decide(item_id, g.account, data["action"], data["reason"])
    return service.shown_item(item)


@bp.get("/moderation/terms")
@auth_required("moderator")
@bp.response(200, TermListsSchema)
def get_terms():
    return terms.get_terms()


@bp.put("/moderation/terms")
@auth_required("moderator")
@bp.arguments(TermListsSchema)
@bp.response(200, TermListsSchema)
def put_terms(data):
    return service.set_terms(data["block"], data["review"], g.account)


@bp.get("/moderation/audit")
@auth_required("moderator")
@bp.arguments(ModerationAuditArgs, location="query")
@bp.response(200, ModerationAuditPageSchema)
def audit(args):
    entries, next_cursor = service.list_audit(
        limit=args["limit"], cursor=args.get("cursor"),
        target_type=args.get("target_type"), target_id=args.get("target_id"))
    moderators = get_many([e.moderator_id for e in entries])
    return page([service.shown_audit(e, moderators) for e in entries], next_cursor)


@bp.post("/moderation/accounts/<string:account_id>/suspend")
@auth_required("moderator")
@bp.arguments(ModerationReasonSchema)
@bp.response(200, ModeratedAccountSchema)
def suspend(data, account_id):
    return service.suspend(account_id, g.account, data["reason"])


@bp.delete("/moderation/accounts/<string:account_id>/suspend")
@auth_required("moderator")
@bp.arguments(ModerationReasonSchema)
@bp.response(200, ModeratedAccountSchema)
def reinstate(data, account_id):
    return service.reinstate(account_id, g.account, data["reason"])


@bp.post("/moderation/accounts/<string:account_id>/verify")
@auth_required("moderator")
@bp.arguments(ModerationReasonSchema)
@bp.response(200, ModeratedAccountSchema)
def verify(data, account_id):
    return service.set_verified(account_id, g.account, True, data["reason"])


@bp.delete("/moderation/accounts/<string:account_id>/verify")
@auth_required("moderator")
@bp.arguments(ModerationReasonSchema)
@bp.response(200, ModeratedAccountSchema)
def unverify(data, account_id):
    return service.set_verified(account_id, g.account, False, data["reason"])


# -- reports (any signed-in account) -------------------------------------------------------

def _report(target_type: str, target_id: str, data: dict) -> Report:
    return service.report(g.account, target_type, target_id, data["reason"], data["details"])


@bp.post("/posts/<string:post_id>/reports")
@limit("report")
@auth_required()
@idempotent
@bp.arguments(ReportCreateSchema)
@bp.response(201, ReportSchema)
def report_post(data, post_id):
    return _report("post", post_id, data)


@bp.post("/comments/<string:comment_id>/reports")
@limit("report")
@auth_required()
@idempotent
@bp.arguments(ReportCreateSchema)
@bp.response(201, ReportSchema)
def report_comment(data, comment_id):
    return _report("comment", comment_id, data)


@bp.post("/accounts/<string:account_id>/reports")
@limit("report")
@auth_required()
@idempotent
@bp.arguments(ReportCreateSchema)
@bp.response(201, ReportSchema)
def report_account(data, account_id):
    return _report("account", account_id, data)
