"""Request and response schemas of the feed; they validate and generate the OpenAPI."""


from marshmallow import Schema, fields, validate

from app.accounts.schemas import AccountSchema
from app.pagination import PageArgs, page_schema
from app.times import Instant, Written
from feed.models import POST_KINDS, STATUSES
from media.schemas import MediaErrorSchema, MediaSchema


def _tag() -> fields.String:
    return fields.String(validate=validate.Length(1, 40))


class AudienceSchema(Schema):
    gender = fields.String(allow_none=True, validate=validate.OneOf(("female", "male")))
    interests_any = fields.List(fields.String(validate=validate.Length(1, 40)),
                                validate=validate.Length(max=20))
    segment_id = fields.String(allow_none=True, validate=validate.Length(1, 24),
                               metadata={"description": "one of the author's behaviour segments"})


class ProductSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    price = fields.String(allow_none=True, validate=validate.Length(max=40))
    image_url = fields.Url(allow_none=True, schemes={"http", "https"},
                           validate=validate.Length(max=2000))


class PostCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(POST_KINDS))
    text = fields.String(load_default="", validate=validate.Length(max=5000))
    title = fields.String(validate=validate.Length(1, 200))
    body = fields.String(validate=validate.Length(1, 100_000))
    media_ids = fields.List(fields.String(validate=validate.Length(1, 40)),
                            validate=validate.Length(max=9))
    tags = fields.List(_tag(), validate=validate.Length(max=10))
    audience = fields.Nested(AudienceSchema, allow_none=True)
    products = fields.List(fields.Nested(ProductSchema), validate=validate.Length(max=9))
    campaign_id = fields.String(allow_none=True, validate=validate.Length(1, 40))
    draft = fields.Boolean(load_default=False,
                           metadata={"description": "keep it as a draft (the author's only)"})
    publish_at = Instant(
        allow_none=True,
        metadata={"description": "publish then (up to 90 days ahead): status `scheduled`"})


class PublishSchema(Schema):
    publish_at = Instant(
        allow_none=True, load_default=None,
        metadata={"description": "schedule for then instead of publishing now"})


class PostUpdateSchema(Schema):
    text = fields.String(validate=validate.Length(max=5000))
    title = fields.String(validate=validate.Length(1, 200))
    body = fields.String(validate=validate.Length(1, 100_000))
    tags = fields.List(_tag(), validate=validate.Length(max=10))
    audience = fields.Nested(AudienceSchema, allow_none=True)
    products = fields.List(fields.Nested(ProductSchema), validate=validate.Length(max=9))
    publish_at = Instant(
        allow_none=True,
        metadata={"description": "drafts and scheduled posts: a new time, or null to keep "
                                 "(or make) it a draft"})


class PostSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": list(POST_KINDS)})
    author = fields.Nested(AccountSchema)
    text = fields.String()
    title = fields.String(allow_none=True)
    body_html = fields.String(allow_none=True)
    media = fields.List(fields.Nested(MediaSchema))
    tags = fields.List(fields.String())
    audience = fields.Nested(AudienceSchema, allow_none=True)
    products = fields.List(fields.Nested(ProductSchema))
    campaign_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    error = fields.Nested(MediaErrorSchema, allow_none=True,
                          metadata={"description": "status `failed`: why"})
    like_count = fields.Integer()
    comment_count = fields.Integer()
    view_count = fields.Integer()
    liked = fields.Boolean()
    created_at = Written()
    edited_at = Written(allow_none=True)
    publish_at = Written(allow_none=True)
    cursor = fields.String()


PostPageSchema = page_schema(PostSchema)
FeedPageSchema = page_schema(PostSchema, "FeedPageSchema", head_cursor=fields.String(allow_none=True))


class FeedArgs(PageArgs):
    after = fields.String(load_default=None, validate=validate.Length(max=512),
                          metadata={"description": "a head_cursor: only newer posts"})


class LikeSchema(Schema):
    liked = fields.Boolean()
    like_count = fields.Integer()


class FollowSchema(Schema):
    following = fields.Boolean()
    followers_count = fields.Integer()
    notify = fields.Boolean(metadata={"description": "the account's new posts are pushed to "
                                                     "the follower's devices"})


class FollowRequestSchema(Schema):
    notify = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "push this account's new posts to my devices (unchanged if left out)"})


class BlockResultSchema(Schema):
    blocked = fields.Boolean()
    muted = fields.Boolean()
    account_id = fields.String()


class CommentCreateSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "`@username` in it notifies that account (`mention`)"})
    reply_to = fields.String(load_default=None, allow_none=True, metadata={
        "description": "a comment of the same post this answers: its author is notified "
                       "(`reply`)"})


class CommentSchema(Schema):
    """A comment ``Shown`` with its ``author``'s account."""

    id = fields.String()
    post_id = fields.String(attribute="post")
    author = fields.Nested(AccountSchema, allow_none=True)
    text = fields.String()
    reply_to = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["published", "pending_review", "removed",
                                              "rejected"]})
    created_at = Written()


CommentPageSchema = page_schema(CommentSchema)


NOTIFICATION_TYPES = ("follow", "like", "comment", "mention", "reply", "moderation")


class NotificationSchema(Schema):
    id = fields.String()
    type = fields.String(metadata={"enum": list(NOTIFICATION_TYPES)})
    actor = fields.Nested(AccountSchema)
    post_id = fields.String(allow_none=True)
    comment_id = fields.String(allow_none=True, metadata={
        "description": "mention and reply: the comment that mentions or answers"})
    created_at = Written()
    read = fields.Boolean()


class NotificationArgs(PageArgs):
    grouped = fields.Boolean(load_default=False, metadata={
        "description": "group by type and post: `NotificationGroup` items"})


class NotificationGroupSchema(Schema):
    """Notifications of one type about one post (or, for follows, about the account)."""

    type = fields.String(metadata={"enum": list(NOTIFICATION_TYPES)})
    post_id = fields.String(allow_none=True)
    actors = fields.List(fields.Nested(AccountSchema), metadata={"description": "the latest 3"})
    actors_count = fields.Integer(metadata={"description": "every distinct actor"})
    latest_at = Written()
    read = fields.Boolean()


# One list, two item shapes (``grouped``): the items are one of the two registered schemas
# (feed.init_app registers them by these names).
NotificationPageSchema = Schema.from_dict({
    "items": fields.List(fields.Raw(metadata={"oneOf": [
        {"$ref": "#/components/schemas/Notification"},
        {"$ref": "#/components/schemas/NotificationGroup"}]})),
    "next_cursor": fields.String(allow_none=True),
    "unread_count": fields.Integer(),
}, name="NotificationPageSchema")


class MarkReadSchema(Schema):
    up_to = Instant(required=True)


class StatsArgs(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(1, 365))


class StatsSchema(Schema):
    days = fields.Integer()
    followers_per_day = fields.List(fields.Dict())
    views_per_day = fields.List(fields.Dict())
    posts = fields.List(fields.Dict())
    totals = fields.Dict()
