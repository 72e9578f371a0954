"""Push routes (under /api/v1): devices and preferences. Thin views over ``service``."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from app.api import Blueprint
from app.auth import auth_required
from app.idempotency import idempotent
from app.push import service
from app.push.models import PLATFORMS, TYPES
from app.times import Written

bp = Blueprint("push", __name__, description="Push notifications: devices and preferences")


class WebPushKeysSchema(Schema):
    p256dh = fields.String(required=True, validate=validate.Length(1, 200))
    auth = fields.String(required=True, validate=validate.Length(1, 100))


class WebPushSubscriptionSchema(Schema):
    endpoint = fields.String(required=True, validate=validate.Length(1, 2000))
    keys = fields.Nested(WebPushKeysSchema, required=True)


class DeviceCreateSchema(Schema):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    token = fields.String(validate=validate.Length(1, 400),
                          metadata={"description": "apns and fcm: the device token"})
    subscription = fields.Nested(WebPushSubscriptionSchema, metadata={
        "description": "webpush: the browser's PushSubscription (`toJSON()`)"})


class DeviceSchema(Schema):
    id = fields.String()
    platform = fields.String(metadata={"enum": list(PLATFORMS)})
    created_at = Written()


PreferencesSchema = Schema.from_dict(
    {kind: fields.Boolean() for kind in TYPES}, name="PushPreferencesSchema")


@bp.post("/push/devices")
@auth_required()
@idempotent
@bp.arguments(DeviceCreateSchema)
@bp.response(201, DeviceSchema)
def add_device(data):
    """Register this device for push (the same token or endpoint twice is one device)."""
    return service.register_device(g.account, data)


@bp.delete("/push/devices/<string:device_id>")
@auth_required()
@bp.response(204)
def remove_device(device_id):
    """Stop pushing to a device."""
    service.delete_device(g.account, device_id)


@bp.get("/push/preferences")
@auth_required()
@bp.response(200, PreferencesSchema)
def get_preferences():
    """Which notification types are pushed (all by default)."""
    return service.preferences(g.account.id)


@bp.put("/push/preferences")
@auth_required()
@bp.arguments(PreferencesSchema)
@bp.response(200, PreferencesSchema)
def put_preferences(data):
    """Turn types on or off (the ones not sent keep their setting)."""
    return service.set_preferences(g.account, data)
