"""Account and token documents."""

from __future__ import annotations

import re

import mongoengine as me

from app.times import utcnow

KINDS = ("fan", "merchant", "influencer")
# \A...\Z, not ^...$: "$" also matches before a trailing newline ("merca\n" next to "merca").
USERNAME_RE = re.compile(r"\A[A-Za-z0-9_]{3,30}\Z")
ROLES = ("moderator", "admin")


class Profile(me.EmbeddedDocument):
    """What audience rules match on (fans)."""

    gender = me.StringField(choices=("female", "male"), null=True)
    interests = me.ListField(me.StringField(max_length=40), max_length=30)


class Account(me.Document):
    username = me.StringField(required=True, max_length=30)
    username_key = me.StringField(required=True, unique=True)  # case-folded, for uniqueness
    password_hash = me.StringField(required=True)
    display_name = me.StringField(required=True, max_length=60)
    kind = me.StringField(required=True, choices=KINDS)
    roles = me.ListField(me.StringField(choices=ROLES))
    bio = me.StringField(max_length=500, default="")
    avatar_media_id = me.StringField(null=True)
    banner_media_id = me.StringField(null=True)  # the wide image atop the account's page
    profile = me.EmbeddedDocumentField(Profile, default=Profile)
    page_layout = me.DictField()
    verified = me.BooleanField(default=False)
    suspended = me.BooleanField(default=False)
    followers_count = me.IntField(default=0)
    following_count = me.IntField(default=0)
    posts_count = me.IntField(default=0)
    last_seen_at = me.DateTimeField(null=True)
    created_at = me.DateTimeField(default=utcnow)

    # username_key: the unique index must lead with the shard key; by-id reads are served
    # by the Redis account cache (docs/capacity.md)
    meta = {"collection": "accounts", "indexes": ["kind", "-created_at"],
            "shard_key": ("username_key",)}

    def has_role(self, role: str) -> bool:
        """Admins can do everything moderators can."""
        return role in self.roles or "admin" in self.roles


class Token(me.Document):
    """A bearer token, stored only as its SHA-256."""

    token_hash = me.StringField(required=True, unique=True)
    account = me.ObjectIdField(required=True)
    created_at = me.DateTimeField(default=utcnow)
    expires_at = me.DateTimeField(required=True)

    meta = {"collection": "tokens", "indexes": ["account", "expires_at"], "shard_key": ("token_hash",)}
