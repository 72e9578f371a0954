"""Request and response schemas for accounts; they validate and they generate the OpenAPI."""

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, post_dump, validate

from app.accounts.models import KINDS, USERNAME_RE
from app.pagination import page_schema
from app.times import Written
from media.service import media_url

SECTIONS = ("posts", "videos", "campaigns")


class ProfileSchema(Schema):
    gender = fields.String(allow_none=True, validate=validate.OneOf(("female", "male")))
    interests = fields.List(fields.String(validate=validate.Length(1, 40)),
                            validate=validate.Length(max=30))


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


class RegisterSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(
        USERNAME_RE, error="3-30 letters, digits or underscores"))
    password = fields.String(required=True, validate=validate.Length(8, 200))
    display_name = fields.String(required=True, validate=validate.Length(1, 60))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    bio = _text(500)
    profile = fields.Nested(ProfileSchema)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 100))
    password = fields.String(required=True, validate=validate.Length(1, 200))


class PasswordChangeSchema(Schema):
    old_password = fields.String(required=True, validate=validate.Length(1, 200))
    new_password = fields.String(required=True, validate=validate.Length(8, 200))


class PasswordSchema(Schema):
    password = fields.String(required=True, validate=validate.Length(1, 200))


class AccountUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(1, 60))
    bio = _text(500)
    avatar_media_id = fields.String(allow_none=True, validate=validate.Length(max=40))
    banner_media_id = fields.String(allow_none=True, validate=validate.Length(max=40),
                                    metadata={"description": "one of your ready images"})
    profile = fields.Nested(ProfileSchema)
    page_layout = fields.Dict(
        # segment names only: a "$" or "." key is a MongoDB operator or path, not a field
        keys=fields.String(validate=validate.Regexp(
            r"\A[A-Za-z0-9_-]{1,40}\Z", error="a segment name: 1-40 letters, digits, _ or -")),
        values=fields.List(fields.String(validate=validate.OneOf(SECTIONS)),
                           validate=validate.Length(max=len(SECTIONS))),
        validate=validate.Length(max=20),
    )


class AccountSchema(Schema):
    id = fields.String()
    username = fields.String()
    display_name = fields.String()
    kind = fields.String(metadata={"enum": list(KINDS)})
    roles = fields.List(fields.String(metadata={"enum": ["moderator", "admin"]}))
    bio = fields.String()
    avatar_url = fields.String(allow_none=True)
    banner_url = fields.String(allow_none=True)
    verified = fields.Boolean()
    followers_count = fields.Integer()
    following_count = fields.Integer()
    posts_count = fields.Integer()
    created_at = Written()
    following = fields.Boolean(metadata={"description": "for a signed-in viewer: whether they "
                                                        "follow this account"})
    profile = fields.Nested(ProfileSchema, metadata={"description": "the owner's own only"})
    page_layout = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                              metadata={"description": "merchants and influencers"})
    avatar_media_id = fields.String(allow_none=True,
                                    metadata={"description": "the owner's own only"})

    @post_dump(pass_original=True)
    def _as_seen(self, data: dict, account: Any, **kwargs: Any) -> dict:
        """An account (or a ``Seen`` one) gets its pictures' URLs and keeps what its viewer
        may see; account JSON kept in a cache was written by this schema already."""
        if isinstance(account, Mapping):
            return data
        data["bio"] = data["bio"] or ""
        data["avatar_url"] = _picture(account.avatar_media_id)
        data["banner_url"] = _picture(account.banner_media_id)
        if account.kind == "fan":
            del data["page_layout"]
        else:
            data["page_layout"] = data["page_layout"] or {}
        if not getattr(account, "private", False):
            del data["profile"], data["avatar_media_id"]
        return data


def _picture(media_id: str | None) -> str | None:
    return media_url(media_id) if media_id else None


class AuthResultSchema(Schema):
    account = fields.Nested(AccountSchema)
    token = fields.String()


AccountPageSchema = page_schema(AccountSchema)
