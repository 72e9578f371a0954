"""The media service: intake, the processing job, and the contract's JSON.

Views, jobs and other packages call these functions; nothing else touches Media documents.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from flask import current_app

from app import signals
from app.errors import ApiError
from app.extensions import redis_client
from app.jobs import enqueue
from app.live import account_room, emit
from app.locks import JobLock
from app.times import as_utc, utcnow
from media.images import ImageLimits, process_image
from media.models import Media, Rendition
from media.probe import Limits, MediaRejected, probe, sniff_file
from media.schemas import MediaSchema
from media.storage import (
    ObjectNotFound,
    StorageError,
    TransientStorageError,
    storage,
    url,
)
from media.transcode import Options, TranscodeError, transcode
from media.tus import TUS_VERSION, TusError, Upload, UploadStore

log = logging.getLogger(__name__)
_media = MediaSchema()

PROGRESS_EVERY_SECONDS = 1.0
# Random bytes in every stored key: file URLs cannot be made from ids (media stored with the
# earlier 8 keep their keys, which stay valid).
KEY_BYTES = 16
JOB_LOCK_SECONDS = 60  # a killed worker's job lock is gone this long after its death
# What each HTTP status means for a rejected upload at intake.
_STATUS = {"unsupported_format": 415, "too_large": 413, "corrupt": 422}


# ---------------------------------------------------------------- settings and singletons


def _setting(name: str, default: Any) -> Any:
    value = current_app.config.get(name)
    return default if value in (None, "") else value


def upload_store() -> UploadStore:
    ext = current_app.extensions
    if "media_uploads" not in ext:
        ext["media_uploads"] = UploadStore(
            Path(current_app.config["UPLOAD_DIR"]) / "tus",
            ttl_seconds=int(_setting("MEDIA_UPLOAD_TTL_SECONDS", 24 * 3600)))
    return ext["media_uploads"]


# Check and record one open upload atomically: KEYS[1] = the account's open uploads
# (id -> declared length); ARGV = id, length, max open, max bytes, ttl. 1: too many, 2: too big.
_OPEN_UPLOAD = """
local lengths = redis.call('HVALS', KEYS[1])
if #lengths + 1 > tonumber(ARGV[3]) then return 1 end
local total = tonumber(ARGV[2])
for _, length in ipairs(lengths) do total = total + tonumber(length) end
if total > tonumber(ARGV[4]) then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0
"""


def open_upload(owner: str, length: int, metadata: dict[str, str]) -> Upload:
    """A new resumable upload, within the account's quota: at most ``UPLOAD_QUOTA_OPEN``
    unfinished uploads, bringing at most ``UPLOAD_QUOTA_BYTES`` (by declared length), so
    the disk one account can hold for a day is bounded. Past it: 429 ``upload_quota``."""
    config, store = current_app.config, upload_store()
    key = f"uploads-open:{{{owner}}}"
    for upload_id in redis_client.hkeys(key):  # finished, cancelled and expired ones leave
        upload = store.get(upload_id)
        if upload is None or upload.media_id is not None:
            redis_client.hdel(key, upload_id)
    upload = store.create(owner, length, metadata, int(config["MEDIA_MAX_BYTES"]))
    most, room = int(config["UPLOAD_QUOTA_OPEN"]), int(config["UPLOAD_QUOTA_BYTES"])
    refused = redis_client.register_script(_OPEN_UPLOAD)(
        keys=[key], args=[upload.id, length, most, room, store.ttl])
    if refused:
        store.delete(upload)
        message = (f"at most {most} unfinished uploads per account" if refused == 1 else
                   f"unfinished uploads may bring at most {room} bytes per account")
        raise ApiError(429, "upload_quota", message + ": finish or cancel one first",
                       headers={"Retry-After": "60", "Tus-Resumable": TUS_VERSION})
    return upload


def incoming_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "incoming"


def limits() -> Limits:
    config = current_app.config
    return Limits(max_seconds=float(config["MEDIA_MAX_SECONDS"]),
                  max_side=int(config["MEDIA_MAX_SIDE"]),
                  max_pixels=int(config["MEDIA_MAX_PIXELS"]),
                  probe_memory_bytes=int(config["MEDIA_FFPROBE_MEMORY_MB"]) << 20)


def transcode_options() -> Options:
    defaults = Options()
    return Options(
        ffmpeg=current_app.config["FFMPEG_BINARY"],
        ffprobe=current_app.config["FFPROBE_BINARY"],
        preset=_setting("MEDIA_X264_PRESET", defaults.preset),
        threads=int(_setting("MEDIA_FFMPEG_THREADS", defaults.threads)),
        nice=int(_setting("MEDIA_FFMPEG_NICE", defaults.nice)),
        timeout=float(_setting("MEDIA_TRANSCODE_TIMEOUT", defaults.timeout)),
        max_seconds=float(current_app.config["MEDIA_MAX_SECONDS"]),
        max_pixels=limits().decode_max_pixels,
        memory_bytes=int(current_app.config["MEDIA_FFMPEG_MEMORY_MB"]) << 20,
    )


# ---------------------------------------------------------------- lookups and JSON


def get(media_id: str) -> Media | None:
    """The media, unless it does not exist or was deleted."""
    try:
        return Media.objects(id=ObjectId(str(media_id)), deleted_at=None).first()
    except (InvalidId, TypeError):
        return None


# Who else may see a media: registered by the package that uses media (the feed decides
# through the posts carrying it, ``feed.visibility.may_see_media``). None: the owner only.
ViewerCheck = Callable[[Any, str, str], bool]  # (viewer, media id, owner id) -> may see
_viewer_checks: list[ViewerCheck] = []


def register_viewer_check(check: ViewerCheck) -> None:
    if check not in _viewer_checks:
        _viewer_checks.append(check)


def get_visible(media_id: str, viewer: Any | None) -> Media:
    """The owner sees its media in any state; others see it ready, and only where a
    registered check lets them (a post they may see, an avatar); else 404."""
    media = get(media_id)
    if media is None:
        raise ApiError(404, "not_found", "no such media")
    if viewer is not None and str(viewer.id) == str(media.owner):
        return media
    if media.status != "ready" or not any(
            check(viewer, str(media.id), str(media.owner)) for check in _viewer_checks):
        raise ApiError(404, "not_found", "no such media")
    return media


def media_json_many(ids: list[str]) -> list[dict]:
    """Media JSON (``MediaSchema``) in the order of ``ids``; unknown ids are skipped."""
    object_ids = []
    for media_id in ids:
        try:
            object_ids.append(ObjectId(str(media_id)))
        except (InvalidId, TypeError):
            continue
    found = {str(m.id): m for m in Media.objects(id__in=object_ids, deleted_at=None)}
    return _media.dump([found[str(i)] for i in ids if str(i) in found], many=True)


def media_url(media_id: str) -> str | None:
    """A picture for the media (avatars): the image itself, or a video's poster."""
    media = get(media_id)
    if media is None or media.status != "ready":
        return None
    return url(media.image_key or media.poster_key)


def check_avatar(account: Any, media_id: str, field: str = "avatar_media_id") -> None:
    """An avatar (or a banner) is one of the account's own ready images (400 otherwise:
    someone else's media, a video, one still processing or failed)."""
    media = get(media_id)
    if (media is None or str(media.owner) != str(account.id) or media.type != "image"
            or media.status != "ready"):
        raise ApiError(400, "validation_error", "the image must be one of your ready images",
                       {field: ["no such ready image of yours"]})


def media_state(account: Any, media_ids: list[str]) -> str:
    """``ready`` when all are ready, else ``processing``; 400 for ids that are not the
    account's or that failed (a post cannot be made from them)."""
    objs = {str(m.id): m for m in Media.objects(
        id__in=[ObjectId(i) for i in media_ids if ObjectId.is_valid(str(i))], deleted_at=None)}
    problems = {}
    for media_id in media_ids:
        media = objs.get(str(media_id))
        if media is None or str(media.owner) != str(account.id):
            problems[str(media_id)] = "no such media of yours"
        elif media.status == "failed":
            problems[str(media_id)] = f"media failed: {(media.error or {}).get('code', 'failed')}"
    if problems:
        raise ApiError(400, "validation_error", "some media cannot be used",
                       {"media_ids": [f"{k}: {v}" for k, v in problems.items()]})
    return "ready" if all(objs[str(i)].status == "ready" for i in media_ids) else "processing"


# ---------------------------------------------------------------- intake


def _new_media(owner_id: Any, kind: str, filename: str, size: int) -> Media:
    media_id = ObjectId()
    return Media(id=media_id, owner=ObjectId(str(owner_id)), type=kind, status="processing",
                 prefix=f"media/{media_id}-{secrets.token_hex(KEY_BYTES)}", original_name=filename,
                 size_bytes=size)


def create_from_file(owner_id: Any, path: Path, filename: str, kind: str, container: str,
                     upload_id: str | None = None) -> Media:
    """Turn a received file into Media; the file is consumed (moved or deleted).

    Videos: the original is stored, then the Media is saved and the job queued (202 comes
    only after the original is safe). Images: verified and re-encoded right here.
    """
    size = path.stat().st_size
    media = _new_media(owner_id, kind, filename, size)
    media.upload_id = upload_id
    try:
        if kind == "image":
            _store_image(media, path)
            media.save()
            return media
        ext = {"mov": "mp4", "matroska": "mkv", "avi": "avi"}.get(container, "bin")
        media.original_key = f"originals/{media.id}-{secrets.token_hex(KEY_BYTES)}/original.{ext}"
        try:
            storage().put_file(media.original_key, path, move=True)
        except StorageError as exc:
            log.warning("storing original failed: %s", exc)
            raise _storage_down() from None
        media.save()
    finally:
        path.unlink(missing_ok=True)
    queue_processing(media)
    return media


def _storage_down() -> ApiError:
    return ApiError(503, "storage_unavailable", "storage is unavailable, try again")


def image_limits() -> ImageLimits:
    return ImageLimits(max_pixels=int(current_app.config["IMAGE_MAX_PIXELS"]),
                       max_decode_bytes=int(current_app.config["IMAGE_MAX_DECODE_MB"]) * 2**20)


def _decode_slots() -> threading.BoundedSemaphore:
    """At most IMAGE_DECODE_CONCURRENCY image decodes at once in this process (memory)."""
    ext = current_app.extensions
    if "media_image_slots" not in ext:
        ext["media_image_slots"] = threading.BoundedSemaphore(
            int(current_app.config["IMAGE_DECODE_CONCURRENCY"]))
    return ext["media_image_slots"]


def _decode_image(path: Path, tmp: Path) -> Any:
    slots = _decode_slots()
    if not slots.acquire(timeout=float(current_app.config["IMAGE_DECODE_WAIT_SECONDS"])):
        raise ApiError(429, "rate_limited", "too many images are being processed, retry soon",
                       headers={"Retry-After": "5"})
    try:
        return process_image(path, tmp, image_limits())
    except MediaRejected as exc:
        raise ApiError(_STATUS.get(exc.code, 422), exc.code, exc.message) from None
    finally:
        slots.release()


def _store_image(media: Media, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="media-img-") as tmp:
        result = _decode_image(path, Path(tmp))
        media.image_key = f"{media.prefix}/{result.image}"
        media.thumbnail_key = f"{media.prefix}/{result.thumbnail}"
        try:
            storage().put_file(media.image_key, Path(tmp) / result.image,
                               content_type=result.content_type)
            storage().put_file(media.thumbnail_key, Path(tmp) / result.thumbnail)
        except StorageError:
            raise _storage_down() from None
    media.width, media.height = result.width, result.height
    media.status, media.progress, media.ready_at = "ready", 100, utcnow()


def create_from_upload(account: Any, upload_id: str) -> Media:
    """``POST /media {upload_id}``: a finished tus upload becomes media (once)."""
    store = upload_store()
    upload = store.get(upload_id)
    if upload is None:
        raise ApiError(404, "not_found", "no such upload")
    if upload.owner != str(account.id):
        raise ApiError(403, "forbidden", "this upload is not yours")
    try:
        with store.locked(upload):  # two claims at once make one media
            upload = store.get(upload.id) or upload
            if upload.media_id:
                existing = get(upload.media_id)
                if existing is None:
                    raise ApiError(404, "not_found", "this upload was used and is gone")
                return existing
            if upload.offset != upload.length:
                raise ApiError(409, "upload_incomplete",
                               f"the upload has {upload.offset} of {upload.length} bytes")
            if upload.length == 0:
                raise ApiError(400, "validation_error", "the upload is empty")
            kind = sniff_file(upload.data_path)
            if kind is None:
                store.delete(upload)
                raise ApiError(415, "unsupported_format", "not a supported video or image")
            media = create_from_file(account.id, upload.data_path,
                                     upload.metadata.get("filename", ""), kind[0], kind[1],
                                     upload_id=upload.id)
            store.claim(upload, str(media.id))
            return media
    except TusError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


def queue_processing(media: Media) -> None:
    try:
        enqueue("media.tasks.process_media", str(media.id), queue="media")
    except Exception as exc:  # broker down: the media stays processing; a re-queue sweep fixes it
        log.error("could not queue media %s: %s", media.id, exc)


# ---------------------------------------------------------------- the processing job


def _emit(event: str, media: Media, payload: dict) -> None:
    """The contract's media events, to the owner's room."""
    try:
        emit(event, payload, room=account_room(media.owner))
    except Exception:  # live updates are best effort; the job's result is in the database
        log.exception("emitting %s failed", event)


class _Progress:
    """Throttled progress: the database and a ``media.progress`` event at most once a second."""

    def __init__(self, app: Any, media: Media) -> None:
        self.app, self.media = app, media
        self.last_time, self.last_value = 0.0, media.progress
        self.lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        value = max(0, min(99, int(fraction * 95)))
        now = time.monotonic()
        with self.lock:
            if value <= self.last_value or now - self.last_time < PROGRESS_EVERY_SECONDS:
                return
            self.last_time, self.last_value = now, value
        with self.app.app_context():
            Media.objects(id=self.media.id, status="processing").update_one(
                set__progress=value, set__updated_at=utcnow())
            _emit("media.progress", self.media, {"media_id": str(self.media.id),
                                                 "status": "processing", "progress": value})


def fail(media: Media, code: str, message: str) -> None:
    media.status, media.error = "failed", {"code": code, "message": message[:500]}
    media.updated_at = utcnow()
    media.save()
    _send(signals.media_failed, media)
    _emit("media.failed", media, {"media_id": str(media.id), "error": dict(media.error)})


def job_lock_seconds() -> int:
    """How long a dead worker's job lock outlives it (``MEDIA_JOB_LOCK_SECONDS``)."""
    return int(_setting("MEDIA_JOB_LOCK_SECONDS", JOB_LOCK_SECONDS))


def _lock(media_id: str) -> JobLock | bool | None:
    """The job's lock (see ``app.locks``): None without Redis, False when held."""
    redis = current_app.extensions.get("redis")
    if redis is None:
        return None
    lock = JobLock(redis, f"media:job:{media_id}", job_lock_seconds())
    return lock if lock.acquire() else False


def _unlock(lock: JobLock | bool | None) -> None:
    if lock:
        lock.release()


def process(media_id: str, progress: Callable[[float], None] | None = None) -> str:
    """The job: probe, transcode in one run, store outputs, mark ready (or failed).

    Idempotent: a ready or failed media is left alone; a re-run of an unfinished one
    removes what an earlier run stored and writes the same keys again. Raises
    ``TransientStorageError`` (the task retries); bad files end as ``failed``, not errors.
    Returns the media's final status.
    """
    media = get(media_id)
    if media is None or media.type != "video" or media.status != "processing":
        return media.status if media else "missing"
    options = transcode_options()
    lock = _lock(media_id)
    if lock is False:
        return "busy"  # another delivery is working on it
    app = current_app._get_current_object()
    tracker = progress or _Progress(app, media)
    try:
        Media.objects(id=media.id).update_one(inc__attempts=1)
        work_root = _setting("MEDIA_WORK_DIR", None)
        if work_root:
            Path(work_root).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="media-job-", dir=work_root) as tmp:
            try:
                with storage().local_copy(media.original_key) as source:
                    info = probe(source, limits(), ffprobe=options.ffprobe)
                    result = transcode(info, Path(tmp) / "out", options, on_progress=tracker)
            except ObjectNotFound:
                fail(media, "corrupt", "the original upload is missing")
                return "failed"
            except MediaRejected as exc:
                fail(media, exc.code, exc.message)
                return "failed"
            except TranscodeError as exc:
                fail(media, exc.code, exc.message)
                return "failed"
            _store_outputs(media, Path(tmp) / "out", result)
        return _mark_ready(media_id, result, media)  # under the lock: no re-run starts in between
    finally:
        _unlock(lock)


def _mark_ready(media_id: str, result: Any, started: Media) -> str:
    """processing -> ready in one conditional write, so it happens (and is told) once. A
    media deleted meanwhile is not: what this run stored goes too (the purge job may have
    run before the outputs were stored)."""
    now = utcnow()
    if not Media.objects(id=media_id, status="processing", deleted_at=None).update_one(
            set__duration=result.duration, set__width=result.width, set__height=result.height,
            set__fps=result.fps, set__has_audio=result.has_audio, set__status="ready",
            set__progress=100, set__error=None, set__ready_at=now, set__updated_at=now):
        media = get(media_id)
        if media is None:
            _remove_files(started)
        return media.status if media else "missing"
    media = get(media_id)
    _send(signals.media_ready, media)
    _emit("media.ready", media, {"media": _media.dump(media)})
    return "ready"


def _send(signal: Any, media: Media) -> None:
    """Tell other packages (the feed publishes waiting posts); their failure is not ours."""
    try:
        signal.send(media)
    except Exception:
        log.exception("a %s receiver failed for media %s", signal.name, media.id)


def _store_outputs(media: Media, out: Path, result: Any) -> None:
    """Upload every output under the media's prefix: segments and files first, playlists
    next, the master last, so a reader never finds a playlist naming a missing file."""
    store = storage()
    store.delete_prefix(media.prefix)
    files = result.files()
    playlists = [f for f in files if f.endswith(".m3u8") and f != result.master]
    for name in [f for f in files if not f.endswith(".m3u8")] + playlists + [result.master]:
        store.put_file(f"{media.prefix}/{name}", out / name)
    media.renditions = [
        Rendition(name=r.name, width=r.width, height=r.height, bitrate=r.bitrate,
                  peak_bitrate=r.peak_bitrate, codecs=r.codecs, key=f"{media.prefix}/{r.mp4}",
                  playlist_key=f"{media.prefix}/{r.playlist}", copied=r.copied)
        for r in result.renditions]
    media.poster_key = f"{media.prefix}/{result.poster}"
    media.hls_key = f"{media.prefix}/{result.master}"
    Media.objects(id=media.id, status="processing").update_one(
        set__renditions=media.renditions, set__poster_key=media.poster_key,
        set__hls_key=media.hls_key, set__progress=99)


def give_up(media_id: str, code: str, message: str) -> None:
    """A job that cannot finish (retries exhausted, unexpected error) fails the media."""
    media = get(media_id)
    if media is not None and media.status == "processing":
        fail(media, code, message)


# ---------------------------------------------------------------- housekeeping


def expire_uploads() -> int:
    """Remove abandoned tus uploads and stale multipart leftovers."""
    removed = upload_store().expire()
    cutoff = time.time() - 24 * 3600
    folder = incoming_dir()
    if folder.is_dir():
        for part in folder.glob("*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
    return removed


def requeue_stuck() -> int:
    """Queue again videos whose job was lost; after three attempts the media fails instead.

    - a job that started (``attempts``) and died with its worker (SIGKILL, OOM, a lost
      machine): its lock (``media:job:{id}``, renewed while it runs) is gone and the media
      has not moved for ``MEDIA_JOB_LOCK_SECONDS``. The broker would redeliver it only after
      its visibility timeout (hours); this sweep (every ``MEDIA_REQUEUE_SECONDS``) does it
      within a minute or two;
    - a job that never started (the broker was down at intake): after the transcode timeout
      and a quarter of an hour, so a long queue is not flooded with copies.

    A job waiting for its retry (``media:retry:{id}``) is left to it.
    """
    redis = current_app.extensions.get("redis")
    now = utcnow()
    died = now - timedelta(seconds=job_lock_seconds())
    never_started = now - timedelta(seconds=transcode_options().timeout + 900)
    count = 0
    for media in Media.objects(status="processing", type="video", updated_at__lt=died):
        if media.attempts == 0 and as_utc(media.updated_at) >= never_started:
            continue
        if redis is not None and (redis.exists(f"media:job:{media.id}")
                                  or redis.exists(retry_key(media.id))):
            continue
        if media.attempts >= 3:
            fail(media, "transcode_failed", "processing did not finish after 3 attempts")
            continue
        if not Media.objects(id=media.id, status="processing",
                             updated_at=media.updated_at).update_one(set__updated_at=utcnow()):
            continue  # moved meanwhile, or another sweep took it
        log.warning("media %s: its job was lost (attempt %d); queued again", media.id,
                    media.attempts)
        queue_processing(media)
        count += 1
    return count


def retry_key(media_id: object) -> str:
    """Set while a job waits for its retry (its countdown), so the sweep leaves it alone."""
    return f"media:retry:{media_id}"


# ---------------------------------------------------------------- deleting


def discard(media_ids: list[str], owner_id: Any | None = None, queue: bool = True) -> int:
    """Delete media now for everyone (their post, they or their owner were deleted): marked
    at once, so nothing is shown or served from this moment; the purge job removes their
    files and documents, and the periodic sweep (``MEDIA_PURGE_SECONDS``) retries what a
    lost job or an unreachable store left. Returns how many were marked."""
    query = {"id__in": [ObjectId(str(i)) for i in media_ids if ObjectId.is_valid(str(i))],
             "deleted_at": None}
    if owner_id is not None:
        query["owner"] = ObjectId(str(owner_id))
    if not query["id__in"]:
        return 0
    marked = Media.objects(**query).update(set__deleted_at=utcnow())
    if marked and queue:
        _queue_purge()
    return marked


def _queue_purge() -> None:
    try:
        enqueue("media.tasks.purge_deleted", queue="media")
    except Exception as exc:  # no broker: the sweep purges them
        log.warning("could not queue the media purge: %s", exc)


def _remove_files(media: Media | None) -> None:
    """Every stored file of a media: its public outputs and its original."""
    if media is None:
        return
    storage().delete_prefix(media.prefix)
    if media.original_key:
        storage().delete_prefix(media.original_key.rsplit("/", 1)[0])


def purge_deleted(owner_id: Any | None = None) -> int:
    """Remove the files, then the documents, of every media marked deleted (of one owner, if
    given); idempotent: a failure leaves the mark for the next run. Returns how many went."""
    count = 0
    query = {"owner": ObjectId(str(owner_id))} if owner_id is not None else {}
    for media in Media.objects(deleted_at__ne=None, **query):
        try:
            _remove_files(media)
        except StorageError:
            log.exception("deleting files of media %s failed; the sweep retries", media.id)
            continue
        Media.objects(id=media.id, deleted_at__ne=None).delete()
        count += 1
    return count


STRAY_AGE_SECONDS = 3600  # intake stores an original just before its record is saved


def purge_strays(min_age_seconds: float = STRAY_AGE_SECONDS) -> int:
    """Remove stored folders whose media record is gone (a store that lost its data, a
    process killed between storing and saving), once older than ``min_age_seconds``: nothing
    stays stored for content that no longer exists. Returns how many folders went."""
    store = storage()
    cutoff = time.time() - min_age_seconds
    count = 0
    for top in ("media", "originals"):
        for folder, newest in list(store.folders(top)):
            media_id = folder.split("/", 1)[1].split("-", 1)[0]
            if newest > cutoff:
                continue
            if ObjectId.is_valid(media_id) and Media.objects(id=ObjectId(media_id)).count():
                continue
            try:
                store.delete_prefix(folder)
            except StorageError:
                log.exception("removing stray folder %s failed", folder)
                continue
            count += 1
    return count


def delete_media(account: Any, media_id: str) -> None:
    """``DELETE /media/{id}``: the owner's own media (404 for others: it is not theirs to
    know about)."""
    media = get(media_id)
    if media is None or str(media.owner) != str(account.id):
        raise ApiError(404, "not_found", "no such media")
    discard([str(media.id)])


def delete_account_media(account_id: Any) -> int:
    """The account is going: its media and every stored file of it go too."""
    ids = [str(m.id) for m in Media.objects(owner=ObjectId(str(account_id))).only("id")]
    discard(ids, account_id, queue=False)  # this is the job: it purges them itself
    return purge_deleted(account_id)


__all__ = [
    "TransientStorageError", "check_avatar", "create_from_file", "create_from_upload",
    "delete_media", "discard", "get", "get_visible", "media_json_many",
    "media_state", "media_url", "process", "purge_deleted", "purge_strays",
    "register_viewer_check",
]
