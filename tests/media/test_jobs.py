"""The processing job: idempotent, retries only transient storage errors, cleans up; S3."""

from __future__ import annotations

import shutil
import socket
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from bson import ObjectId

from app.errors import ApiError
from app.times import utcnow
from media import service
from media.models import Media
from media.storage import S3Storage
from media.tasks import process_media
from tests.media.conftest import S3_CREDENTIALS
from tests.support import on_server, wait_for


def _stored_media(app, owner_id, src: Path, tmp_path: Path) -> str:
    """A video media with its original in storage, not queued (the test runs the job)."""
    with app.app_context():
        media = service._new_media(owner_id, "video", src.name, src.stat().st_size)
        media.original_key = f"originals/{media.id}-test/original.mp4"
        copy = tmp_path / "copy.mp4"
        shutil.copyfile(src, copy)
        service.storage().put_file(media.original_key, copy, move=True)
        media.save()
        return str(media.id)


def _listing(app, media_id) -> list[str]:
    with app.app_context():
        media = service.get(media_id)
        root = Path(app.config["MEDIA_DIR"]) / media.prefix
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_job_is_idempotent_and_leaves_no_temp_files(app, make_account, clip, tmp_path,
                                                    monkeypatch):
    work = tmp_path / "work"
    monkeypatch.setitem(app.config, "MEDIA_WORK_DIR", str(work))
    owner = make_account("fan")
    media_id = _stored_media(app, owner.id, clip("small"), tmp_path)
    with app.app_context():
        assert service.process(media_id) == "ready"
        first = service.get(media_id)
        files = _listing(app, media_id)
        assert "hls/master.m3u8" in files and "poster.jpg" in files
        # a second delivery of the same job changes nothing
        assert service.process(media_id) == "ready"
        assert service.get(media_id).updated_at == first.updated_at
        # a worker killed after storing outputs: the job runs again from the start
        Media.objects(id=first.id).update_one(set__status="processing", set__progress=40)
        assert service.process(media_id) == "ready"
        again = service.get(media_id)
    assert _listing(app, media_id) == files, "same outputs, no duplicates"
    assert [(r.name, r.key) for r in again.renditions] == [
        (r.name, r.key) for r in first.renditions]
    assert again.attempts == 2
    assert list(work.iterdir()) == [], "temporary files are always removed"


def test_bad_files_fail_once_without_retries(app, make_account, hostile, tmp_path, monkeypatch):
    work = tmp_path / "work"
    monkeypatch.setitem(app.config, "MEDIA_WORK_DIR", str(work))
    owner = make_account("fan")
    media_id = _stored_media(app, owner.id, hostile("truncated_faststart"), tmp_path)
    process_media.apply(args=[media_id])
    with app.app_context():
        media = service.get(media_id)
    assert media.status == "failed" and media.error["code"] == "corrupt"
    assert media.attempts == 1
    assert list(work.iterdir()) == []


def test_transient_storage_errors_are_retried_then_fail(app, make_account, clip, tmp_path,
                                                        monkeypatch):
    owner = make_account("fan")
    media_id = _stored_media(app, owner.id, clip("small"), tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setitem(app.extensions, "media_storage",
                        S3Storage("gone", endpoint_url=dead, **S3_CREDENTIALS))
    process_media.apply(args=[media_id])  # eager: retries run in place
    with app.app_context():
        media = service.get(media_id)
    assert media.status == "failed" and media.error["code"] == "storage_unavailable"
    assert media.attempts == 1 + 5


def test_s3_backend_end_to_end_with_presigned_hls(app, server, client, make_account, clip,
                                                  s3_endpoint, s3_bucket, monkeypatch):
    store = S3Storage(s3_bucket, prefix="fanhub", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    monkeypatch.setitem(app.extensions, "media_storage", store)
    owner = make_account("fan")
    with open(clip("small"), "rb") as fh:
        response = client.post("/api/v1/media", headers=owner.headers,
                                data={"file": (fh, "a.mp4")})
    assert response.status_code == 202
    media_id = response.get_json()["id"]
    def finished():
        body = client.get(f"/api/v1/media/{media_id}", headers=owner.headers).get_json()
        return body if body["status"] != "processing" else None

    done = wait_for(finished, timeout=60)
    assert done["status"] == "ready"
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
            .list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert all(k.startswith("fanhub/") for k in keys)
    assert any(k.endswith("/original.mp4") for k in keys)
    # the master goes through the app; its variant playlist comes back with presigned segments
    assert urlsplit(done["hls_url"]).path.startswith("/media-files/")
    master = requests.get(on_server(server.url, done["hls_url"]), timeout=10).text
    variant = [ln for ln in master.splitlines() if ln and not ln.startswith("#")][0]
    base = on_server(server.url, done["hls_url"]).rsplit("/", 1)[0]
    playlist = requests.get(f"{base}/{variant}", timeout=10).text
    segment_url = [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")][0]
    assert segment_url.startswith(s3_endpoint) and "Signature" in segment_url
    assert requests.get(segment_url, timeout=10).content[:1] == b"G"
    mp4 = requests.get(done["renditions"][0]["url"], timeout=10)
    assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp"
    assert requests.get(done["poster_url"], timeout=10).content[:2] == b"\xff\xd8"


def test_stuck_media_is_requeued_or_failed(app, make_account):
    owner = make_account("fan")
    with app.app_context():
        old = utcnow() - timedelta(days=1)
        tired = service._new_media(owner.id, "video", "a.mp4", 1)
        tired.attempts, tired.updated_at = 3, old
        tired.save()
        fresh = service._new_media(owner.id, "video", "b.mp4", 1)
        fresh.save()
        assert service.requeue_stuck() == 0
        assert service.get(str(tired.id)).error["code"] == "transcode_failed"
        assert service.get(str(fresh.id)).status == "processing"


def test_a_job_whose_worker_died_is_requeued_within_a_minute_not_hours(app, make_account, clip,
                                                                      tmp_path):
    """What a worker SIGKILLed mid-transcode leaves: the media processing after one attempt,
    untouched since, its lock lapsed; the broker would redeliver the job only after its
    visibility timeout. The sweep queues it to the real worker, which makes it ready once."""
    owner = make_account("fan")
    died, waiting, queued = (_stored_media(app, owner.id, clip("small"), tmp_path)
                             for _ in range(3))
    redis = app.extensions["redis"]
    with app.app_context():
        a_while_ago = utcnow() - timedelta(seconds=service.job_lock_seconds() + 5)
        Media.objects(id__in=[died, waiting]).update(set__attempts=1, set__updated_at=a_while_ago)
        Media.objects(id=queued).update_one(set__updated_at=a_while_ago)  # still in the queue
        redis.set(service.retry_key(waiting), 1, ex=60)  # its retry is coming by itself
        assert service.requeue_stuck() == 1
        assert service.requeue_stuck() == 0  # taken: not queued twice
    with app.app_context():
        media = wait_for(lambda: (m := service.get(died)).status != "processing" and m,
                         timeout=60)
        assert media.status == "ready" and media.attempts == 2
        assert service.get(waiting).status == service.get(queued).status == "processing"


def test_feed_helpers(app, make_account, clip, tmp_path):
    owner, other = make_account("fan"), make_account("fan")
    media_id = _stored_media(app, owner.id, clip("small"), tmp_path)
    with app.app_context():
        from app.accounts.service import get as get_account

        me = get_account(owner.id)
        assert service.media_state(me, [media_id]) == "processing"
        with pytest.raises(ApiError):
            service.media_state(get_account(other.id), [media_id])
        with pytest.raises(ApiError):
            service.media_state(me, [str(ObjectId())])
        assert service.process(media_id) == "ready"
        assert service.media_state(me, [media_id]) == "ready"
        assert [m["id"] for m in service.media_json_many([media_id, "bad", str(ObjectId())])] == [
            media_id]
        assert service.media_url(media_id).endswith("poster.jpg")
        prefix = Path(app.config["MEDIA_DIR"]) / service.get(media_id).prefix
        assert prefix.is_dir()
        assert service.delete_account_media(owner.id) == 1
        assert not prefix.exists() and service.get(media_id) is None


def test_job_lock_is_renewed_while_held_and_expires_soon_after_its_holder_dies(app):
    from app.locks import JobLock

    redis = app.extensions["redis"]
    key = f"media:job:test-{ObjectId()}"
    holder, rival = JobLock(redis, key, seconds=3), JobLock(redis, key, seconds=3)
    assert holder.acquire()
    assert not rival.acquire()
    # renewed every second: the 3 s lock outlives several of its lifetimes
    wait_for(lambda: redis.ttl(key) == 3 and holder._thread.is_alive(), timeout=10)
    for _ in range(2):
        assert wait_for(lambda: 0 < redis.ttl(key) <= 2, timeout=10)  # time passes...
        assert wait_for(lambda: redis.ttl(key) == 3, timeout=10)  # ...and it is renewed
    assert not rival.acquire() and not holder.lost
    # the holder's worker is killed: no more renewals, no release
    holder._stop.set()
    holder._thread.join()
    wait_for(rival.acquire, timeout=10)
    holder.release()  # a late release of the dead holder leaves the new holder's lock alone
    assert redis.get(key) == rival.token
    rival.release()
    assert redis.get(key) is None


def test_a_redelivered_job_proceeds_once_a_killed_workers_lock_expires(app, make_account, clip,
                                                                       tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_JOB_LOCK_SECONDS", 3)
    owner = make_account("fan")
    media_id = _stored_media(app, owner.id, clip("small"), tmp_path)
    redis = app.extensions["redis"]
    # what a worker killed mid-job leaves behind: its lock, no longer renewed
    redis.set(f"media:job:{media_id}", "dead-worker", ex=3)
    with app.app_context():
        assert service.process(media_id) == "busy"
        assert service.get(media_id).attempts == 0
        wait_for(lambda: service.process(media_id) != "busy", timeout=15)
        media = service.get(media_id)
    assert media.status == "ready" and media.attempts == 1
    assert redis.get(f"media:job:{media_id}") is None, "released when done"


def test_a_second_delivery_while_the_job_runs_requeues_and_transcodes_once(
        app, make_account, clip, tmp_path, monkeypatch):
    """The ``busy`` path of ``process_media``: a second delivery of the same media while the
    first holds the job lock neither transcodes nor waits; it queues itself again (through the
    real broker, to the real worker), and that later delivery finds the media ready."""
    from celery.signals import task_postrun

    from app import signals

    monkeypatch.setitem(app.config, "MEDIA_JOB_LOCK_SECONDS", 3)  # the re-queue's countdown
    owner = make_account("fan")
    media_id = _stored_media(app, owner.id, clip("small"), tmp_path)
    redis = app.extensions["redis"]
    ready, worker_runs, second = [], [], {}

    def on_ready(media, **_):
        if str(media.id) == media_id:
            ready.append(media.status)

    def on_postrun(task=None, args=None, retval=None, **_):
        if task is not None and task.name == process_media.name and args == [media_id]:
            worker_runs.append(retval)

    def on_progress(fraction: float) -> None:  # ffmpeg of the first delivery is running
        if not second:
            second["lock_held"] = redis.exists(f"media:job:{media_id}")
            second["status"] = process_media(media_id)  # a plain (not eager) delivery

    signals.media_ready.connect(on_ready)
    task_postrun.connect(on_postrun, weak=False)
    try:
        with app.app_context():
            assert service.process(media_id, progress=on_progress) == "ready"
            finished = service.get(media_id).updated_at
        assert second == {"lock_held": 1, "status": "busy"}
        assert worker_runs == [], "the second delivery was not run in place"
        wait_for(lambda: worker_runs, timeout=30)  # the re-queued one, after its countdown
    finally:
        task_postrun.disconnect(on_postrun)
        signals.media_ready.disconnect(on_ready)
    assert worker_runs == ["ready"]
    with app.app_context():
        media = service.get(media_id)
    assert media.status == "ready" and media.attempts == 1, "transcoded exactly once"
    assert ready == ["ready"], "media.ready sent exactly once"
    assert media.updated_at == finished, "the later delivery changed nothing"
    assert redis.get(f"media:job:{media_id}") is None
