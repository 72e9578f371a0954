"""The contract's Media, shared by the media routes and every schema that embeds media."""

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, post_dump

from app.times import Written
from media.storage import url


class RenditionSchema(Schema):
    name = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    bitrate = fields.Integer()
    url = fields.String()

    @post_dump(pass_original=True)
    def _url(self, data: dict, rendition: Any, **kwargs: Any) -> dict:
        if not isinstance(rendition, Mapping):
            data["url"] = url(rendition.key)
        return data


class MediaErrorSchema(Schema):
    code = fields.String()
    message = fields.String()


class MediaSchema(Schema):
    id = fields.String()
    type = fields.String(metadata={"enum": ["video", "image"]})
    status = fields.String(metadata={"enum": ["processing", "ready", "failed"]})
    progress = fields.Integer()
    duration = fields.Float(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    poster_url = fields.String(allow_none=True)
    renditions = fields.List(fields.Nested(RenditionSchema))
    hls_url = fields.String(allow_none=True)
    error = fields.Nested(MediaErrorSchema, allow_none=True)
    has_audio = fields.Boolean(metadata={"description": "videos, once ready"})
    url = fields.String(metadata={"description": "images, once ready: the re-encoded image"})
    thumbnail_url = fields.String(metadata={"description": "images: a small JPEG"})
    created_at = Written()

    @post_dump(pass_original=True)
    def _as_ready(self, data: dict, media: Any, **kwargs: Any) -> dict:
        """A Media document shows its URLs (and a video its renditions and ``has_audio``)
        once ready; media JSON kept with a post was written by this schema already."""
        if isinstance(media, Mapping):
            return data
        video = media.status == "ready" and media.type == "video"
        image = media.status == "ready" and media.type != "video"
        data["poster_url"] = url(media.poster_key if video else
                                 media.thumbnail_key if image else None)
        data["hls_url"] = url(media.hls_key) if video else None
        data["error"] = data["error"] or None
        if not video:
            data["renditions"] = []
            del data["has_audio"]
        if image:
            data["url"], data["thumbnail_url"] = url(media.image_key), url(media.thumbnail_key)
        return data
