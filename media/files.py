"""``GET /media-files/<key>``: stored media served by the app (outside /api).

Local storage: the file itself, with Range support (Safari needs it to play MP4).
S3 with presigned URLs: HLS playlists are served here rewritten with presigned segment URLs
(a presigned playlist cannot refer to its segments relatively); anything else redirects to
its own presigned URL. Only public outputs (``media/...``) of media that still exist are
served, at signed paths that expire (``media/signing.py``): originals never are.
"""

from __future__ import annotations

from bson import ObjectId
from flask import Blueprint, Response, abort, redirect, send_file

from media.models import Media
from media.service import storage
from media.storage import (
    LocalStorage,
    ObjectNotFound,
    StorageError,
    check_key,
    content_type_for,
    rewrite_playlist,
)

files_bp = Blueprint("media_files", __name__)


def _exists(key: str) -> bool:
    """The key's media still exists: a deleted one's files are not served, even in the
    moments before the purge job removes them. Keys are ``media/<id>-<random>/<file>``."""
    folder = key.split("/")[1] if key.count("/") >= 2 else ""
    media_id = folder.split("-", 1)[0]
    if not ObjectId.is_valid(media_id):
        return False
    return bool(Media.objects(id=ObjectId(media_id), prefix=f"media/{folder}",
                              deleted_at=None).count())


@files_bp.get("/media-files/<path:key>")
def media_file(key: str):
    store = storage()
    if store.signer is not None:  # only signed, unexpired paths (media/signing.py)
        key = store.signer.verify(key) or ""
    try:
        check_key(key)
    except StorageError:
        abort(404)
    if not key.startswith("media/") or not _exists(key):
        abort(404)
    if isinstance(store, LocalStorage):
        try:
            path = store.path(key)
        except StorageError:
            abort(404)
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype=content_type_for(key), conditional=True,
                             max_age=300 if key.endswith(".m3u8") else 86400)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    if key.endswith(".m3u8") and store.presigned:
        try:
            text = store.get_bytes(key).decode()
        except ObjectNotFound:
            abort(404)
        body = rewrite_playlist(text, store.presigned_url, key)
        response = Response(body, mimetype=content_type_for(key))
        response.headers["Cache-Control"] = "private, max-age=60"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    return redirect(store.url(key), code=302)
