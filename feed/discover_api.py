"""REST routes of discovery (under /api/v1): the for-you feed, tag pages and trends; thin
views over ``feed.foryou``, ``feed.timeline`` and ``feed.trends``."""

from flask import current_app, request
from marshmallow import Schema, fields, validate

from app.api import Blueprint
from app.auth import auth_optional, current_account
from app.errors import ApiError
from app.pagination import PageArgs, page_schema
from feed import foryou, timeline, trends
from feed.posts import normalize_tags
from feed.schemas import PostPageSchema, PostSchema

bp = Blueprint("discover", __name__, description="Tag pages and trends")


class TrendingTagSchema(Schema):
    tag = fields.String()
    score = fields.Float(metadata={"description": "decayed engagement, now"})
    posts_count = fields.Integer(metadata={"description": "published posts with the tag"})


class TrendingPostSchema(PostSchema):
    trend_score = fields.Float(metadata={"description": "decayed engagement, now"})


class ReasonSchema(Schema):
    code = fields.String(metadata={"description": "followed, interest, trending or similar_fans"})
    text = fields.String(metadata={"description": "e.g. 因为你喜欢 穿搭"})


class ForYouPostSchema(PostSchema):
    reason = fields.Nested(ReasonSchema)


ForYouPageSchema = page_schema(ForYouPostSchema)
TrendingTagPageSchema = page_schema(TrendingTagSchema)
TrendingPostPageSchema = page_schema(TrendingPostSchema)


class TrendArgs(PageArgs):
    segment = fields.String(load_default=None, validate=validate.OneOf(trends.SEGMENTS),
                            metadata={"description": "posts trending with this segment"})


@bp.get("/feed/for_you")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, ForYouPageSchema)
def for_you(args):
    """Ranked for this viewer (a token, or an anonymous app's ``X-Device-Id``); the cursor
    pages through one snapshot of the ranking."""
    device = request.headers.get("X-Device-Id", "").strip()[:100] or None
    # ready JSON in the contract's shape (a first page is often kept): the schema documents
    body = foryou.page_json(current_account(), device, args["limit"], args["cursor"])
    return current_app.response_class(body, mimetype="application/json")


@bp.get("/tags/<string:tag>/posts")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, PostPageSchema)
def tag_posts(args, tag):
    found = normalize_tags([tag[:41]])
    if not found or len(found[0]) > 40:
        raise ApiError(404, "not_found", "no such tag")
    return timeline.tagged_posts(found[0], current_account(), args["limit"], args["cursor"])


@bp.get("/trends/tags")
@bp.arguments(PageArgs, location="query")
@bp.response(200, TrendingTagPageSchema)
def trending_tags(args):
    return trends.trending_tags(args["limit"], args["cursor"])


@bp.get("/trends/posts")
@auth_optional
@bp.arguments(TrendArgs, location="query")
@bp.response(200, TrendingPostPageSchema)
def trending_posts(args):
    return trends.trending_posts(current_account(), args["segment"], args["limit"],
                                 args["cursor"])
