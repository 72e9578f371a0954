"""The contract's Media, shared by the media routes and every schema that embeds media."""

from marshmallow import Schema, fields


class RenditionSchema(Schema):
    name = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    bitrate = fields.Integer()
    url = fields.String()


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
    created_at = fields.String()
