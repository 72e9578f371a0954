"""Push devices and per-type preferences (MongoDB, the source of truth)."""

from __future__ import annotations

import mongoengine as me

from app.times import utcnow

PLATFORMS = ("apns", "fcm", "webpush")
TYPES = ("follow", "like", "comment", "mention", "reply", "moderation", "media", "posts")


class PushDevice(me.Document):
    account = me.ObjectIdField(required=True)
    platform = me.StringField(required=True, choices=PLATFORMS)
    token = me.StringField(null=True)  # apns, fcm
    subscription = me.DictField(null=True)  # webpush: {endpoint, keys: {p256dh, auth}}
    key = me.StringField(required=True)  # the token or endpoint: one device row each
    created_at = me.DateTimeField(default=utcnow)

    meta = {"collection": "push_devices",
            "indexes": [{"fields": ["account", "key"], "unique": True}, "key"],
            "shard_key": ("account",)}


class PushPreferences(me.Document):
    account = me.ObjectIdField(primary_key=True)
    types = me.DictField(default=dict)  # type -> bool; missing means on

    meta = {"collection": "push_preferences"}
