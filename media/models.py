"""The Media document: one uploaded video or image and everything made from it."""

from __future__ import annotations

import mongoengine as me

from app.times import utcnow

TYPES = ("video", "image")
STATUSES = ("processing", "ready", "failed")


class Rendition(me.EmbeddedDocument):
    """One rung of a video's ladder: its MP4 and its HLS playlist (storage keys)."""

    name = me.StringField(required=True)
    width = me.IntField(required=True)
    height = me.IntField(required=True)
    bitrate = me.IntField(default=0)
    peak_bitrate = me.IntField(default=0)
    codecs = me.StringField(default="")
    key = me.StringField(required=True)
    playlist_key = me.StringField()
    copied = me.BooleanField(default=False)


class Media(me.Document):
    owner = me.ObjectIdField(required=True)
    type = me.StringField(required=True, choices=TYPES)
    status = me.StringField(required=True, choices=STATUSES, default="processing")
    progress = me.IntField(default=0, min_value=0, max_value=100)
    duration = me.FloatField(null=True)
    width = me.IntField(null=True)
    height = me.IntField(null=True)
    fps = me.FloatField(null=True)
    has_audio = me.BooleanField(null=True)
    size_bytes = me.IntField(default=0)
    original_name = me.StringField(max_length=255, default="")
    # Storage keys. ``prefix`` holds every public output (128 random bits: not guessable);
    # the original lives elsewhere (``originals/``), never served, since it keeps its metadata.
    prefix = me.StringField(required=True)
    original_key = me.StringField(null=True)
    poster_key = me.StringField(null=True)
    hls_key = me.StringField(null=True)
    image_key = me.StringField(null=True)
    thumbnail_key = me.StringField(null=True)
    renditions = me.ListField(me.EmbeddedDocumentField(Rendition))
    error = me.DictField(null=True)  # {code, message}
    upload_id = me.StringField(null=True)  # the tus upload it came from (claimed once)
    attempts = me.IntField(default=0)
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)
    ready_at = me.DateTimeField(null=True)
    # Set when its post, the media itself or its owner is deleted: from then on it is gone
    # for everyone (404, no file served); a job removes its files, then the document.
    deleted_at = me.DateTimeField(null=True)

    meta = {
        "collection": "media",
        "indexes": [("owner", "-created_at"), ("status", "created_at"),
                    {"fields": ["upload_id"], "sparse": True},
                    {"fields": ["deleted_at"], "sparse": True}],
        "shard_key": ("owner", "id"),
    }
