"""The live contract as AsyncAPI 3, served at ``/api/asyncapi.json``.

Every Socket.IO event (default namespace) with its payload schema. The payloads are
marshmallow schemas here, built on the REST schemas they embed (Post, Comment, Media,
Account), converted by apispec; the embedded ones are taken as the served OpenAPI document
has them (finished there: ``required`` fields, ``date-time``), so both contracts say the
same; all of it is turned from OpenAPI's dialect (``nullable``) into the JSON Schema that
AsyncAPI payloads are.

The document describes the server: ``send`` operations are the events it emits,
``receive`` the ones it handles (each acknowledged ``{ok: true}`` or ``{ok: false, error}``).
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from marshmallow import Schema, fields

from app import contract
from app.accounts.schemas import AccountSchema
from feed.schemas import NOTIFICATION_TYPES, CommentSchema, PostSchema
from media.schemas import MediaErrorSchema, MediaSchema


def _id(description: str) -> fields.String:
    return fields.String(required=True, metadata={"description": description})


class FeedNewEvent(Schema):
    post = fields.Nested(PostSchema, required=True)
    cursor = fields.String(required=True, metadata={
        "description": "the post's feed cursor: `GET /feed/home?after=` catches up from it"})


class AccountPostEvent(Schema):
    post = fields.Nested(PostSchema, required=True)


class PostCountsEvent(Schema):
    post_id = _id("the post")
    like_count = fields.Integer(required=True)
    comment_count = fields.Integer(required=True)
    view_count = fields.Integer(required=True)


class CommentNewEvent(Schema):
    post_id = _id("the post")
    comment = fields.Nested(CommentSchema, required=True)


class MediaProgressEvent(Schema):
    media_id = _id("the media")
    status = fields.String(required=True, metadata={"enum": ["processing"]})
    progress = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 100})


class MediaReadyEvent(Schema):
    media = fields.Nested(MediaSchema, required=True)


class MediaFailedEvent(Schema):
    media_id = _id("the media")
    error = fields.Nested(MediaErrorSchema, required=True)


class ModerationDecisionEvent(Schema):
    target_type = fields.String(required=True, metadata={"enum": ["post", "comment", "account"]})
    target_id = _id("what was decided on")
    action = fields.String(required=True,
                           metadata={"enum": ["approve", "reject", "remove", "restore"]})
    reason = fields.String(required=True)


class NotificationEvent(Schema):
    type = fields.String(required=True, metadata={"enum": list(NOTIFICATION_TYPES)})
    actor = fields.Nested(AccountSchema, required=True)
    post_id = fields.String(metadata={"description": "likes, comments, mentions, replies"})
    comment_id = fields.String(metadata={"description": "mentions in and replies by a comment"})
    unread_count = fields.Integer(required=True)


class SubscribeRequest(Schema):
    post_id = fields.String(metadata={"description": "follow a post's counts and comments"})
    account_id = fields.String(metadata={"description": "follow an account page's new posts"})


class Ack(Schema):
    ok = fields.Boolean(required=True)
    error = fields.String(metadata={"description": "when `ok` is false: `invalid_payload`, "
                                                  "`not_found`, `too_many_subscriptions`, "
                                                  "`rate_limited`, `unknown_event`"})


# event name -> (payload schema, who gets it / what it does)
SERVER_EVENTS: dict[str, tuple[type[Schema], str]] = {
    "feed.new": (FeedNewEvent, "a new post, to online followers who may see it"),
    "account.post": (AccountPostEvent, "a new post, to subscribers of its author's page"),
    "post.counts": (PostCountsEvent, "a post's counts changed, to its subscribers"),
    "comment.new": (CommentNewEvent, "a published comment, to the post's subscribers"),
    "media.progress": (MediaProgressEvent, "transcoding progress, to the owner"),
    "media.ready": (MediaReadyEvent, "the media is ready, to the owner"),
    "media.failed": (MediaFailedEvent, "the media failed (and why), to the owner"),
    "moderation.decision": (ModerationDecisionEvent, "a decision on the author's content"),
    "notification": (NotificationEvent, "a notification, to the account concerned"),
}
CLIENT_EVENTS: dict[str, tuple[type[Schema], str]] = {
    "subscribe": (SubscribeRequest, "join a post's or an account page's updates "
                                    "(`post_id` or `account_id`)"),
    "unsubscribe": (SubscribeRequest, "leave them"),
}


def _name(event: str) -> str:
    return "".join(part.capitalize() for part in event.replace(".", "_").split("_"))


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's dialect to JSON Schema: ``nullable`` becomes a ``null`` alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "allOf" in out and len(out) == 1:
            out = {"anyOf": [*out["allOf"], {"type": "null"}]}
        elif isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _schemas(rest: dict[str, Any]) -> dict[str, Any]:
    spec = APISpec("events", "v1", "3.0.3", plugins=[MarshmallowPlugin()])
    names = set()
    for schema, _ in [*SERVER_EVENTS.values(), *CLIENT_EVENTS.values()]:
        name = schema.__name__
        if name not in names:
            spec.components.schema(name, schema=schema)
            names.add(name)
    spec.components.schema("Ack", schema=Ack)
    schemas = spec.to_dict()["components"]["schemas"]
    events = {name for name in schemas if name not in rest}
    contract.finish_schemas(schemas, events, {"SubscribeRequest"})
    schemas.update({name: rest[name] for name in contract.closure(set(schemas) - events, rest)})
    return {name: _json_schema(schema) for name, schema in schemas.items()}


def build(rest: dict[str, Any]) -> dict[str, Any]:
    """The AsyncAPI 3 document; ``rest``: the served OpenAPI document's component schemas."""
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    channel_messages: dict[str, Any] = {}
    for events, action in ((SERVER_EVENTS, "send"), (CLIENT_EVENTS, "receive")):
        for event, (schema, text) in events.items():
            key = _name(event)
            messages[key] = {
                "name": event, "title": event, "summary": text,
                "contentType": "application/json",
                "payload": {"$ref": f"#/components/schemas/{schema.__name__}"},
            }
            if action == "receive":
                messages[key]["x-ack"] = {"$ref": "#/components/schemas/Ack"}
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
            operations[f"{action}{key}"] = {
                "action": action, "summary": text,
                "channel": {"$ref": "#/channels/live"},
                "messages": [{"$ref": f"#/channels/live/messages/{key}"}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Fanhub live updates", "version": "v1",
            "description": (
                "Socket.IO (default namespace). Connect with `auth: {\"token\": \"<token>\"}` "
                "(or a page's session cookie); a bad token is refused (`connect_error`); a "
                "connection without credentials is anonymous. Each signed-in connection joins "
                "its account's room. Events are JSON objects; fields may be added at any time. "
                "The REST contract is `/api/openapi.json` (docs/API.md)."),
        },
        "defaultContentType": "application/json",
        "servers": {"live": {
            "host": "localhost:5000", "protocol": "ws", "pathname": "/socket.io/",
            "description": "the API's own address (Socket.IO over WebSocket or long-polling)",
        }},
        "channels": {"live": {
            "address": "/", "title": "the default Socket.IO namespace",
            "messages": channel_messages,
        }},
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas(rest)},
    }


bp = Blueprint("asyncapi", __name__)


@bp.get("/api/asyncapi.json")
def asyncapi_json():
    """The live contract (built once per app)."""
    ext = current_app.extensions
    if "asyncapi" not in ext:
        ext["asyncapi"] = build(ext["api"].document()["components"]["schemas"])
    return jsonify(ext["asyncapi"])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
