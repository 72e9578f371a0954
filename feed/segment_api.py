"""REST routes of behaviour segments (under /api/v1): thin views over ``feed.segments``."""

from flask import g
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api import Blueprint
from app.auth import auth_required
from app.idempotency import idempotent
from app.pagination import PageArgs, page_schema
from app.times import Written
from feed import segments

bp = Blueprint("segments", __name__, description="Behaviour segments of an account's fans")


class RuleSchema(Schema):
    """One condition: exactly one of gender, interests_any, followed_within_days, or an
    action with within_days."""

    gender = fields.String(validate=validate.OneOf(("female", "male")))
    interests_any = fields.List(fields.String(validate=validate.Length(1, 40)),
                                validate=validate.Length(1, 20))
    followed_within_days = fields.Integer(validate=validate.Range(1, segments.KEEP_DAYS))
    action = fields.String(validate=validate.OneOf(segments.ACTIONS))
    within_days = fields.Integer(validate=validate.Range(1, segments.KEEP_DAYS))

    @validates_schema
    def _one_condition(self, data, **_):
        given = [k for k in ("gender", "interests_any", "followed_within_days", "action")
                 if k in data]
        if len(given) != 1:
            raise ValidationError("exactly one of gender, interests_any, followed_within_days "
                                  "or action")
        if "action" in data and "within_days" not in data:
            raise ValidationError("an action needs within_days", "within_days")
        if "within_days" in data and "action" not in data:
            raise ValidationError("within_days goes with an action", "within_days")


class SegmentCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 80))
    rules = fields.List(fields.Nested(RuleSchema), required=True,
                        validate=validate.Length(max=10))


class SegmentUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(1, 80))
    rules = fields.List(fields.Nested(RuleSchema), validate=validate.Length(max=10))


class SegmentSchema(Schema):
    id = fields.String()
    name = fields.String()
    rules = fields.List(fields.Dict())
    size = fields.Integer(metadata={"description": "fans in the segment now"})
    size_exact = fields.Boolean(metadata={
        "description": "false for a very large segment: the last count (at most a minute old) "
                       "or, until the first count, an upper bound"})
    created_at = Written()


SegmentPageSchema = page_schema(SegmentSchema)


@bp.post("/segments")
@auth_required()
@idempotent
@bp.arguments(SegmentCreateSchema)
@bp.response(201, SegmentSchema)
def create_segment(data):
    return segments.sized(segments.create(g.account, data))


@bp.get("/segments")
@auth_required()
@bp.arguments(PageArgs, location="query")
@bp.response(200, SegmentPageSchema)
def list_segments(args):
    return segments.page(g.account, args["limit"], args["cursor"])


@bp.get("/segments/<string:segment_id>")
@auth_required()
@bp.response(200, SegmentSchema)
def get_segment(segment_id):
    return segments.sized(segments.get(g.account, segment_id))


@bp.patch("/segments/<string:segment_id>")
@auth_required()
@bp.arguments(SegmentUpdateSchema)
@bp.response(200, SegmentSchema)
def update_segment(changes, segment_id):
    return segments.sized(segments.update(g.account, segment_id, changes))


@bp.delete("/segments/<string:segment_id>")
@auth_required()
@bp.response(204)
def delete_segment(segment_id):
    segments.delete(g.account, segment_id)
