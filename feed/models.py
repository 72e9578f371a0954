"""Documents the feed owns: the follow graph, posts, interactions, notifications, campaigns.

MongoDB is the source of truth; unique indexes hold the invariants (one follow per pair,
one like per account and post). Redis mirrors what the hot paths read (see ``cache.py``).
"""

from __future__ import annotations

import mongoengine as me

from app.times import utcnow

POST_KINDS = ("post", "video", "headline")
STATUSES = ("draft", "scheduled", "processing", "pending_review", "published", "failed",
            "rejected", "removed")
PLANNED = ("draft", "scheduled")  # the author's only, until published


class Follow(me.Document):
    follower = me.ObjectIdField(required=True)
    followee = me.ObjectIdField(required=True)
    created_at = me.DateTimeField(default=utcnow)
    notify = me.BooleanField(default=False)  # push the followee's new posts to the follower

    meta = {
        "collection": "follows",
        "indexes": [
            {"fields": ["follower", "followee"], "unique": True},
            ("followee", "-created_at"),
            ("follower", "-created_at"),
        ],
        "shard_key": ("follower", "followee"),  # a rebuild's "whom do I follow" is targeted
    }


class Block(me.Document):
    """``kind`` block: no follow, comment or seeing posts; mute: gone from feeds only."""

    account = me.ObjectIdField(required=True)  # who blocks or mutes
    target = me.ObjectIdField(required=True)
    kind = me.StringField(required=True, choices=("block", "mute"))
    created_at = me.DateTimeField(default=utcnow)

    meta = {
        "collection": "blocks",
        "indexes": [{"fields": ["account", "target", "kind"], "unique": True}, "target"],
        "shard_key": ("account", "target", "kind"),
    }


class Audience(me.EmbeddedDocument):
    gender = me.StringField(choices=("female", "male"), null=True)
    interests_any = me.ListField(me.StringField(max_length=40))
    segment_id = me.StringField(max_length=24, null=True)  # one of the author's segments


class Product(me.EmbeddedDocument):
    title = me.StringField(required=True, max_length=120)
    url = me.StringField(required=True, max_length=2000)
    price = me.StringField(max_length=40, null=True)
    image_url = me.StringField(max_length=2000, null=True)
    clicks = me.IntField(default=0)


class Post(me.Document):
    author = me.ObjectIdField(required=True)
    author_kind = me.StringField(required=True)
    kind = me.StringField(required=True, choices=POST_KINDS)
    text = me.StringField(default="")
    title = me.StringField(null=True)
    body = me.StringField(null=True)  # Markdown, headlines only
    body_html = me.StringField(null=True)  # sanitized rendering of body
    media_ids = me.ListField(me.StringField())
    tags = me.ListField(me.StringField(max_length=40))
    audience = me.EmbeddedDocumentField(Audience, null=True)
    products = me.EmbeddedDocumentListField(Product)
    campaign_id = me.ObjectIdField(null=True)
    status = me.StringField(required=True, choices=STATUSES, default="published")
    error = me.DictField(null=True)
    review_reasons = me.ListField(me.StringField())  # why it is held: terms, spam, fan_video...
    like_count = me.IntField(default=0)
    comment_count = me.IntField(default=0)
    view_count = me.IntField(default=0)
    created_at = me.DateTimeField(default=utcnow)  # set again when a planned post goes out
    edited_at = me.DateTimeField(null=True)
    # The fan-out outbox: set in the same write that makes the post published, cleared by
    # the fan-out job once delivered; the sweep (feed.fanout.sweep) queues what stays set.
    fanout_due = me.DateTimeField(null=True)
    publish_at = me.DateTimeField(null=True)  # scheduled posts: when the worker publishes

    meta = {
        "collection": "posts",
        "indexes": [
            ("author", "-created_at"),
            {"fields": ["fanout_due"], "sparse": True},
            ("status", "publish_at"),
            ("status", "kind", "-created_at"),
            ("status", "author_kind", "-created_at"),
            ("campaign_id", "status", "-created_at"),
            "tags",
            "media_ids",  # which posts carry a media (visibility, publishing when it is ready)
        ],
        "shard_key": ("author", "id"),  # an author's posts together; a big author still splits
    }


class Segment(me.Document):
    """A merchant's or influencer's behaviour segment of its fans (``feed/segments.py``)."""

    owner = me.ObjectIdField(required=True)
    name = me.StringField(required=True, max_length=80)
    rules = me.ListField(me.DictField())
    created_at = me.DateTimeField(default=utcnow)

    meta = {"collection": "segments", "indexes": [("owner", "-created_at")]}


class Comment(me.Document):
    post = me.ObjectIdField(required=True)
    author = me.ObjectIdField(required=True)
    text = me.StringField(required=True)
    reply_to = me.ObjectIdField(null=True)  # the comment (of the same post) this answers
    status = me.StringField(default="published", choices=("published", "pending_review",
                                                          "removed", "rejected"))
    created_at = me.DateTimeField(default=utcnow)

    meta = {"collection": "comments", "indexes": [("post", "-created_at"), "author"],
            "shard_key": ("post", "id")}


class Like(me.Document):
    post = me.ObjectIdField(required=True)
    account = me.ObjectIdField(required=True)
    created_at = me.DateTimeField(default=utcnow)

    meta = {
        "collection": "likes",
        "indexes": [{"fields": ["post", "account"], "unique": True}, ("account", "-created_at")],
        "shard_key": ("post", "account"),
    }


class Notification(me.Document):
    account = me.ObjectIdField(required=True)  # who is told
    type = me.StringField(required=True, choices=("follow", "like", "comment", "mention",
                                                  "reply", "moderation"))
    actor = me.ObjectIdField(required=True)
    post_id = me.ObjectIdField(null=True)
    comment_id = me.ObjectIdField(null=True)  # mentions in and replies by a comment
    created_at = me.DateTimeField(default=utcnow)

    meta = {"collection": "notifications", "indexes": [("account", "-created_at")],
            "shard_key": ("account", "id")}


class NotificationState(me.Document):
    account = me.ObjectIdField(primary_key=True)
    read_up_to = me.DateTimeField(null=True)

    meta = {"collection": "notification_state", "shard_key": ("account",)}


class DailyViews(me.Document):
    """Unique views per post and day, flushed from the Redis sketches (for stats)."""

    post = me.ObjectIdField(required=True)
    author = me.ObjectIdField(required=True)
    day = me.StringField(required=True)  # YYYY-MM-DD
    views = me.IntField(default=0)

    meta = {
        "collection": "daily_views",
        "indexes": [{"fields": ["post", "day"], "unique": True}, ("author", "day")],
        "shard_key": ("post", "day"),
    }


class Campaign(me.Document):
    merchant = me.ObjectIdField(required=True)
    title = me.StringField(required=True, max_length=120)
    description = me.StringField(default="", max_length=5000)
    tag = me.StringField(required=True, max_length=40)
    starts_at = me.DateTimeField(required=True)
    ends_at = me.DateTimeField(required=True)
    created_at = me.DateTimeField(default=utcnow)

    meta = {"collection": "campaigns", "indexes": [("merchant", "-starts_at")]}
