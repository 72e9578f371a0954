"""REST routes of the media package (under /api/v1): uploads, tus, media state.

Views stay thin: they parse HTTP and call ``media.service`` / ``media.tus``.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime

from flask import Response, current_app, g, request, url_for
from marshmallow import Schema, fields

from app.api import Blueprint
from app.auth import auth_optional, auth_required, current_account
from app.errors import ApiError
from app.idempotency import idempotent
from app.ratelimits import limit
from app.urls import absolute
from media import service
from media.intake import IntakeError, receive_multipart
from media.schemas import MediaSchema
from media.tus import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    TUS_VERSION,
    TusError,
    encode_metadata,
    parse_checksum,
    parse_metadata,
)

bp = Blueprint("media", __name__, description="Media: uploads (multipart and tus) and processing")

MULTIPART_SLACK = 1024 * 1024  # part headers and boundaries on top of the file itself
TUS_HEADERS = "Location, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, " \
              "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm"


class UploadRefSchema(Schema):
    upload_id = fields.String(load_default=None, metadata={
        "description": "a finished tus upload; send multipart/form-data with `file` instead "
                       "for a direct upload"})


_MULTIPART_DOC = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@bp.before_request
def _body_limits():
    """JSON bodies stay small; a multipart body may be as large as the media limit."""
    if request.mimetype == "multipart/form-data":
        request.max_content_length = current_app.config["MEDIA_MAX_BYTES"] + MULTIPART_SLACK
    elif request.mimetype != "application/offset+octet-stream":
        request.max_content_length = current_app.config["JSON_MAX_BYTES"]


@bp.post("/media")
@limit("upload")
@auth_required()
@idempotent
@bp.arguments(UploadRefSchema, required=False)
@bp.response(202, MediaSchema)
@bp.doc(**_MULTIPART_DOC)
def create_media(data):
    """Upload a video or image (multipart `file`), or turn a finished tus upload into media.

    Videos answer 202 with `status: processing` once the original is stored; images are
    verified and re-encoded at once (`status: ready`).
    """
    if request.mimetype == "multipart/form-data":
        return _receive_multipart()
    if not data.get("upload_id"):
        raise ApiError(400, "validation_error", "send a multipart `file` or an `upload_id`",
                       {"upload_id": ["required unless a file is sent"]})
    return service.create_from_upload(g.account, data["upload_id"])


def _receive_multipart():
    limit = int(current_app.config["MEDIA_MAX_BYTES"])
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise ApiError(413, "too_large", f"uploads are limited to {limit} bytes")
    boundary = request.mimetype_params.get("boundary", "").encode()
    if not boundary:
        raise ApiError(400, "bad_request", "multipart body without a boundary")
    try:
        received = receive_multipart(request.stream, boundary, service.incoming_dir(), limit)
    except IntakeError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return service.create_from_file(g.account.id, received.path, received.filename,
                                    received.kind, received.container)


@bp.get("/media/<media_id>")
@auth_optional
@bp.response(200, MediaSchema)
def get_media(media_id):
    """Its owner sees it in any state; others see it ready and only through a post they may
    see (or as its owner's avatar): a media of no visible post is a 404."""
    return service.get_visible(media_id, current_account())


@bp.delete("/media/<media_id>")
@auth_required()
@bp.response(204)
def delete_media(media_id):
    """Delete one's own media: gone for everyone at once, its stored files within a minute."""
    service.delete_media(g.account, media_id)


# ---------------------------------------------------------------- tus 1.0.0


def _expires(upload) -> str:
    return email.utils.format_datetime(
        datetime.fromtimestamp(upload.expires_at, tz=UTC), usegmt=True)


def _tus_response(status: int, headers: dict | None = None) -> Response:
    response = Response(status=status)
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Access-Control-Expose-Headers"] = TUS_HEADERS
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _tus_error(exc: TusError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, headers={"Tus-Resumable": TUS_VERSION})


def _check_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise ApiError(412, "unsupported_version", "send Tus-Resumable: 1.0.0",
                       headers={"Tus-Version": TUS_VERSION, "Tus-Resumable": TUS_VERSION})


def _own_upload(upload_id: str):
    upload = service.upload_store().get(upload_id)
    if upload is None:
        raise ApiError(404, "not_found", "no such upload", headers={"Tus-Resumable": TUS_VERSION})
    if upload.owner != str(g.account.id):
        raise ApiError(403, "forbidden", "this upload is not yours",
                       headers={"Tus-Resumable": TUS_VERSION})
    return upload


def _sweep_now_and_then() -> None:
    """Abandoned uploads also expire without a beat scheduler: sweep at most every 10 min."""
    ext = current_app.extensions
    if time.time() - ext.get("media_last_sweep", 0) > 600:
        ext["media_last_sweep"] = time.time()
        service.expire_uploads()


@bp.route("/uploads", methods=["OPTIONS"])
@bp.doc(responses={204: {"description": "`Tus-Version`, `Tus-Extension`, `Tus-Max-Size`, "
                                        "`Tus-Checksum-Algorithm`"}})
def tus_options():
    """tus discovery: version, extensions, limits."""
    return _tus_response(204, {
        "Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(current_app.config["MEDIA_MAX_BYTES"]),
        "Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS,
    })


@bp.route("/uploads", methods=["POST"])
@limit("upload")
@auth_required()
@idempotent
@bp.doc(responses={201: {"description": "created; `Location` names the upload"}})
def tus_create():
    """Create a resumable upload (tus creation; body optional: creation-with-upload)."""
    _check_version()
    if request.headers.get("Upload-Defer-Length"):
        raise ApiError(400, "unsupported", "Upload-Defer-Length is not supported",
                       headers={"Tus-Resumable": TUS_VERSION})
    raw = request.headers.get("Upload-Length", "")
    if not raw.isdigit():
        raise ApiError(400, "validation_error", "Upload-Length is required",
                       headers={"Tus-Resumable": TUS_VERSION})
    _sweep_now_and_then()
    store = service.upload_store()
    try:
        metadata = parse_metadata(request.headers.get("Upload-Metadata"))
        upload = service.open_upload(str(g.account.id), int(raw), metadata)
        headers = {"Location": absolute(url_for("media.tus_upload", upload_id=upload.id)),
                   "Upload-Expires": _expires(upload)}
        if request.mimetype == "application/offset+octet-stream" and request.content_length:
            checksum = parse_checksum(request.headers.get("Upload-Checksum"))
            headers["Upload-Offset"] = str(store.append(
                upload, 0, request.stream, request.content_length, checksum))
    except TusError as exc:
        raise _tus_error(exc) from None
    return _tus_response(201, headers)


@bp.route("/uploads/<upload_id>", methods=["HEAD"])
@auth_required()
@bp.doc(responses={200: {"description": "`Upload-Offset`, `Upload-Length`, `Upload-Expires`"}})
def tus_head(upload_id):
    """How much of an upload the server has (tus core)."""
    upload = _own_upload(upload_id)
    headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length),
               "Upload-Expires": _expires(upload), "Cache-Control": "no-store"}
    if upload.metadata:
        headers["Upload-Metadata"] = encode_metadata(upload.metadata)
    return _tus_response(200, headers)


@bp.route("/uploads/<upload_id>", methods=["PATCH"], endpoint="tus_upload")
@auth_required()
@bp.doc(responses={204: {"description": "bytes appended; `Upload-Offset` is the new offset"}})
def tus_patch(upload_id):
    """Append bytes at `Upload-Offset` (409 if it is not the upload's offset)."""
    _check_version()
    if request.mimetype != "application/offset+octet-stream":
        raise ApiError(415, "unsupported_media_type",
                       "PATCH bodies are application/offset+octet-stream",
                       headers={"Tus-Resumable": TUS_VERSION})
    raw = request.headers.get("Upload-Offset", "")
    if not raw.isdigit():
        raise ApiError(400, "validation_error", "Upload-Offset is required",
                       headers={"Tus-Resumable": TUS_VERSION})
    upload = _own_upload(upload_id)
    try:
        checksum = parse_checksum(request.headers.get("Upload-Checksum"))
        offset = service.upload_store().append(upload, int(raw), request.stream,
                                               request.content_length, checksum)
    except TusError as exc:
        raise _tus_error(exc) from None
    return _tus_response(204, {"Upload-Offset": str(offset), "Upload-Expires": _expires(upload)})


@bp.route("/uploads/<upload_id>", methods=["DELETE"])
@auth_required()
@bp.doc(responses={204: {"description": "terminated"}})
def tus_delete(upload_id):
    """Terminate an upload: its bytes are removed."""
    _check_version()
    service.upload_store().delete(_own_upload(upload_id))
    return _tus_response(204)
