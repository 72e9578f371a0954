"""tus 1.0.0 at /uploads, proven with the real tuspy client over real HTTP."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import time
from urllib.parse import urlsplit

import requests
from tusclient import client as tus_client

from media.tus import UploadStore
from tests.support import on_server, wait_for

API = "/api/v1"
TUS = {"Tus-Resumable": "1.0.0"}


def _create(server, actor, length, metadata="filename YS5tcDQ="):
    response = requests.post(f"{server.url}{API}/uploads", timeout=10, headers={
        **actor.headers, **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata})
    assert response.status_code == 201, response.text
    return on_server(server.url, response.headers["Location"])


def _head(url, actor):
    return requests.head(url, headers={**actor.headers, **TUS}, timeout=10)


def _patch(url, actor, offset, data, **headers):
    return requests.patch(url, data=data, timeout=10, headers={
        **actor.headers, **TUS, "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream", **headers})


def test_discovery(server):
    response = requests.options(f"{server.url}{API}/uploads", timeout=10)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    extensions = response.headers["Tus-Extension"].split(",")
    assert {"creation", "termination", "checksum", "expiration"} <= set(extensions)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1"
    assert int(response.headers["Tus-Max-Size"]) > 0


def test_tuspy_uploads_then_media_is_made(app, server, client, make_account, clip):
    owner = make_account("fan")
    path = clip("small")
    tus = tus_client.TusClient(f"{server.url}{API}/uploads", headers=owner.headers)
    uploader = tus.uploader(str(path), chunk_size=16 * 1024,
                            metadata={"filename": "手机视频.mp4", "filetype": "video/mp4"})
    uploader.upload()
    upload_id = uploader.url.rsplit("/", 1)[1]
    head = _head(uploader.url, owner)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(
        path.stat().st_size)
    assert "filename" in head.headers["Upload-Metadata"]
    assert head.headers["Cache-Control"] == "no-store"

    other = make_account("fan")
    assert client.post(f"{API}/media", json={"upload_id": upload_id},
                       headers=other.headers).status_code == 403
    response = client.post(f"{API}/media", json={"upload_id": upload_id}, headers=owner.headers)
    assert response.status_code == 202
    media = response.get_json()
    assert media["type"] == "video" and media["status"] == "processing"
    again = client.post(f"{API}/media", json={"upload_id": upload_id}, headers=owner.headers)
    assert again.get_json()["id"] == media["id"], "claiming twice gives the same media"
    done = wait_for(lambda: (lambda b: b if b["status"] != "processing" else None)(
        client.get(f"{API}/media/{media['id']}", headers=owner.headers).get_json()), timeout=60)
    assert done["status"] == "ready" and done["renditions"]


def _interrupted_patch(url, actor, offset, data, send):
    """A PATCH that announces ``len(data)`` bytes, sends ``send`` of them, then drops."""
    parts = urlsplit(url)
    head = (f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: {actor.headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head + data[:send])
        sock.shutdown(socket.SHUT_WR)  # the phone lost its connection
        with contextlib.suppress(OSError):
            sock.recv(1024)


def test_interrupted_upload_resumes_from_its_offset_with_tuspy(app, server, client,
                                                               make_account, clip):
    owner = make_account("fan")
    path = clip("compliant_720")
    data = path.read_bytes()
    url = _create(server, owner, len(data))
    half = len(data) // 2
    _interrupted_patch(url, owner, 0, data, half)
    wait_for(lambda: int(_head(url, owner).headers["Upload-Offset"]) == half)

    # tuspy picks the upload up where the server says it stopped, with sha1 checksums
    tus = tus_client.TusClient(f"{server.url}{API}/uploads", headers=owner.headers)
    uploader = tus.uploader(str(path), url=url, chunk_size=256 * 1024, upload_checksum=True)
    assert uploader.offset == half
    uploader.upload()
    assert int(_head(url, owner).headers["Upload-Offset"]) == len(data)
    from media.service import upload_store

    with app.app_context():
        upload = upload_store().get(url.rsplit("/", 1)[1])
        assert hashlib.sha256(upload.data_path.read_bytes()).digest() == \
            hashlib.sha256(data).digest()


def test_offset_conflicts_checksums_and_termination(server, make_account):
    owner = make_account("fan")
    url = _create(server, owner, 10)
    assert _patch(url, owner, 0, b"hello").status_code == 204
    conflict = _patch(url, owner, 0, b"hello")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "offset_mismatch"
    bad = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    mismatch = _patch(url, owner, 5, b"world", **{"Upload-Checksum": f"sha1 {bad}"})
    assert mismatch.status_code == 460
    assert _head(url, owner).headers["Upload-Offset"] == "5", "a bad chunk is not kept"
    good = base64.b64encode(hashlib.sha1(b"world").digest()).decode()
    ok = _patch(url, owner, 5, b"world", **{"Upload-Checksum": f"sha1 {good}"})
    assert ok.status_code == 204 and ok.headers["Upload-Offset"] == "10"
    assert ok.headers["Tus-Resumable"] == "1.0.0" and ok.headers["Upload-Expires"]
    assert _patch(url, owner, 10, b"!").status_code == 413, "past Upload-Length"
    # protocol rules
    assert requests.patch(url, data=b"x", headers={**owner.headers, **TUS, "Upload-Offset": "10",
                          "Content-Type": "text/plain"}, timeout=10).status_code == 415
    assert requests.patch(url, data=b"x", headers={**owner.headers, "Upload-Offset": "10",
                          "Content-Type": "application/offset+octet-stream"},
                          timeout=10).status_code == 412
    stranger = make_account("fan")
    assert _head(url, stranger).status_code == 403
    assert requests.head(url, timeout=10).status_code == 401
    # termination
    deleted = requests.delete(url, headers={**owner.headers, **TUS}, timeout=10)
    assert deleted.status_code == 204
    assert _head(url, owner).status_code == 404
    assert _patch(url, owner, 10, b"x").status_code == 404


def test_creation_limits_and_creation_with_upload(app, server, make_account):
    owner = make_account("fan")
    too_big = requests.post(f"{server.url}{API}/uploads", timeout=10, headers={
        **owner.headers, **TUS, "Upload-Length": str(app.config["MEDIA_MAX_BYTES"] + 1)})
    assert too_big.status_code == 413
    missing = requests.post(f"{server.url}{API}/uploads", headers={**owner.headers, **TUS},
                            timeout=10)
    assert missing.status_code == 400
    bad_meta = requests.post(f"{server.url}{API}/uploads", timeout=10, headers={
        **owner.headers, **TUS, "Upload-Length": "3", "Upload-Metadata": "filename ***"})
    assert bad_meta.status_code == 400
    with_body = requests.post(f"{server.url}{API}/uploads", data=b"abc", timeout=10, headers={
        **owner.headers, **TUS, "Upload-Length": "3",
        "Content-Type": "application/offset+octet-stream"})
    assert with_body.status_code == 201 and with_body.headers["Upload-Offset"] == "3"


def test_state_lives_on_disk_so_a_restarted_server_resumes(app, server, make_account):
    owner = make_account("fan")
    url = _create(server, owner, 8)
    assert _patch(url, owner, 0, b"1234").status_code == 204
    app.extensions.pop("media_uploads")  # the server forgets everything it held in memory
    fresh = UploadStore(app.config["UPLOAD_DIR"] + "/tus")
    upload = fresh.get(url.rsplit("/", 1)[1])
    assert (upload.offset, upload.length, upload.owner) == (4, 8, owner.id)
    assert _head(url, owner).headers["Upload-Offset"] == "4"
    assert _patch(url, owner, 4, b"5678").headers["Upload-Offset"] == "8"


def test_abandoned_uploads_expire(app, server, make_account):
    owner = make_account("fan")
    url = _create(server, owner, 100)
    assert _patch(url, owner, 0, b"x" * 10).status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    store = UploadStore(app.config["UPLOAD_DIR"] + "/tus")
    assert store.expire(now=time.time()) == 0
    assert store.expire(now=time.time() + 2 * 24 * 3600) >= 1
    assert not (store.root / f"{upload_id}.bin").exists()
    assert _head(url, owner).status_code == 404
