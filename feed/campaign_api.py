"""REST routes of fan video campaigns (under /api/v1): thin views over ``feed.campaigns``.

The schemas here validate the requests and generate the OpenAPI of these routes.
"""


from flask import g
from marshmallow import Schema, fields, validate

from app.accounts import service as accounts
from app.accounts.schemas import AccountSchema
from app.api import Blueprint
from app.auth import auth_optional, auth_required, current_account
from app.idempotency import idempotent
from app.pagination import PageArgs, page_schema
from app.times import Instant, Written
from feed import campaigns
from feed.schemas import PostPageSchema

bp = Blueprint("campaigns", __name__, description="Fan video campaigns")


class CampaignCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    tag = fields.String(required=True, validate=validate.Length(1, 40))
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)


class CampaignSchema(Schema):
    """A campaign as ``feed.campaigns.shown`` gives it."""

    id = fields.String()
    merchant = fields.Nested(AccountSchema)
    title = fields.String()
    description = fields.String()
    tag = fields.String()
    starts_at = Written()
    ends_at = Written()
    state = fields.String(metadata={"enum": list(campaigns.STATES)})
    entries_count = fields.Integer()
    participants_count = fields.Integer()
    created_at = Written()


CampaignPageSchema = page_schema(CampaignSchema)


class EntriesArgs(PageArgs):
    sort = fields.String(load_default="new", validate=validate.OneOf(campaigns.SORTS),
                         metadata={"description": "new: newest first; views: most viewed first"})


class TopEntrySchema(Schema):
    post_id = fields.String()
    author_id = fields.String()
    views = fields.Integer()


class CampaignStatsSchema(Schema):
    campaign_id = fields.String()
    title = fields.String()
    state = fields.String()
    starts_at = fields.String()
    ends_at = fields.String()
    entries = fields.Integer(metadata={"description": "approved (published) video entries"})
    participants = fields.Integer(metadata={"description": "fans with an approved entry"})
    new_followers = fields.Integer(
        metadata={"description": "follows of the merchant made inside the window (still standing)"})
    views = fields.Integer(metadata={"description": "unique views of the approved entries"})
    submitted = fields.Integer(metadata={"description": "every video posted into the campaign"})
    pending = fields.Integer(metadata={"description": "entries processing or awaiting review"})
    top_entries = fields.List(fields.Nested(TopEntrySchema))


@bp.post("/campaigns")
@auth_required()
@idempotent
@bp.arguments(CampaignCreateSchema)
@bp.response(201, CampaignSchema)
def create_campaign(data):
    campaign = campaigns.create(g.account, data)
    return campaigns.shown(campaign, merchant=g.account)


@bp.get("/campaigns/<string:campaign_id>")
@auth_optional
@bp.response(200, CampaignSchema)
def get_campaign(campaign_id):
    return campaigns.shown(campaigns.get(campaign_id))


@bp.get("/campaigns/<string:campaign_id>/entries")
@auth_optional
@bp.arguments(EntriesArgs, location="query")
@bp.response(200, PostPageSchema)
def campaign_entries(args, campaign_id):
    campaign = campaigns.get(campaign_id)
    return campaigns.entries(campaign, current_account(), args["sort"], args["limit"],
                             args["cursor"])


@bp.get("/campaigns/<string:campaign_id>/stats")
@auth_required()
@bp.response(200, CampaignStatsSchema)
def campaign_stats(campaign_id):
    return campaigns.stats(campaigns.get(campaign_id), g.account)


@bp.get("/accounts/<string:ref>/campaigns")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, CampaignPageSchema)
def account_campaigns(args, ref):
    return campaigns.account_campaigns(accounts.lookup(ref), args["limit"], args["cursor"])
