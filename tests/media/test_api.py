"""POST /media (multipart), GET /media/{id}, the job end to end, and /media-files."""

from __future__ import annotations

import http.client
import io
from urllib.parse import urlsplit

import pytest
import requests
import socketio
from PIL import Image

from app import signals
from tests.support import on_server, wait_for

API = "/api/v1"


def _upload(server, actor, path, name=None):
    with open(path, "rb") as fh:
        return requests.post(f"{server.url}{API}/media", headers=actor.headers,
                             files={"file": (name or path.name, fh)}, timeout=60)


def _wait_done(client, media_id, actor, timeout=60):
    def done():
        body = client.get(f"{API}/media/{media_id}", headers=actor.headers).get_json()
        return body if body["status"] != "processing" else None

    return wait_for(done, timeout=timeout)


def test_video_upload_over_http_to_ready_with_live_events(app, server, client, make_account,
                                                          clip):
    owner = make_account("influencer")
    events: list[tuple[str, dict]] = []
    ready_signal: list = []

    def on_ready(media, **_):
        ready_signal.append(str(media.id))

    sio = socketio.Client(reconnection=False)
    for name in ("media.progress", "media.ready", "media.failed"):
        sio.on(name, lambda data, name=name: events.append((name, data)))
    signals.media_ready.connect(on_ready)
    try:
        sio.connect(server.url, auth={"token": owner.token}, wait_timeout=10)
        response = _upload(server, owner, clip("small"), "我的视频.mp4")
        assert response.status_code == 202, response.text
        media = response.json()
        assert media["type"] == "video" and media["status"] == "processing"
        # nobody else sees it while it is processing
        assert client.get(f"{API}/media/{media['id']}").status_code == 404
        stranger = make_account("fan")
        assert client.get(f"{API}/media/{media['id']}",
                          headers=stranger.headers).status_code == 404
        done = _wait_done(client, media["id"], owner)
        wait_for(lambda: any(name == "media.ready" for name, _ in events))
    finally:
        signals.media_ready.disconnect(on_ready)
        sio.disconnect()

    assert done["status"] == "ready", done
    assert done["progress"] == 100
    assert (done["width"], done["height"]) == (480, 270)
    assert abs(done["duration"] - 1.2) < 0.2
    assert [r["name"] for r in done["renditions"]] == ["270p"]
    assert done["error"] is None
    assert ready_signal == [media["id"]]
    progress = [data["progress"] for name, data in events if name == "media.progress"]
    assert progress and progress == sorted(progress) and all(0 < p < 100 for p in progress)
    assert events[-1][0] == "media.ready" and events[-1][1]["media"]["id"] == media["id"]
    assert [name for name, _ in events].index("media.ready") == len(events) - 1

    # nobody else sees it until a post they may see carries it (issue 15)
    assert client.get(f"{API}/media/{media['id']}").status_code == 404
    post = client.post(f"{API}/posts", headers=owner.headers,
                       json={"kind": "video", "text": "新视频", "media_ids": [media["id"]]})
    assert post.get_json()["status"] == "published"
    # then anyone may see it, and fetch every file it names from the app
    public = client.get(f"{API}/media/{media['id']}").get_json()
    assert public["hls_url"] == done["hls_url"]
    master = requests.get(on_server(server.url, public["hls_url"]), timeout=10)
    assert master.status_code == 200
    assert master.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    variant = [ln for ln in master.text.splitlines() if ln and not ln.startswith("#")][0]
    base = on_server(server.url, public["hls_url"]).rsplit("/", 1)[0]
    playlist = requests.get(f"{base}/{variant}", timeout=10).text
    segment = [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")][0]
    seg = requests.get(f"{base}/{variant.rsplit('/', 1)[0]}/{segment}", timeout=10)
    assert seg.status_code == 200 and seg.content[:1] == b"G"  # MPEG-TS sync byte
    mp4 = requests.get(on_server(server.url, public["renditions"][0]["url"]),
                       headers={"Range": "bytes=0-99"}, timeout=10)
    assert mp4.status_code == 206 and len(mp4.content) == 100
    poster = requests.get(on_server(server.url, public["poster_url"]), timeout=10)
    assert poster.content[:3] == b"\xff\xd8\xff"


def test_a_bad_video_fails_with_its_reason(app, client, make_account, hostile):
    owner = make_account("fan")
    failed: list = []

    def on_failed(media, **_):
        failed.append(media.error["code"])

    signals.media_failed.connect(on_failed)
    try:
        with open(hostile("truncated"), "rb") as fh:
            response = client.post(f"{API}/media", headers=owner.headers,
                                   data={"file": (fh, "clip.mp4")})
        assert response.status_code == 202
        done = _wait_done(client, response.get_json()["id"], owner)
    finally:
        signals.media_failed.disconnect(on_failed)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "corrupt" and done["error"]["message"]
    assert failed == ["corrupt"]


@pytest.mark.parametrize("kind", ["text", "m3u8", "concat", "zip"])
def test_unsupported_types_are_415_and_leave_nothing(app, client, make_account, hostile, kind):
    owner = make_account("fan")
    with open(hostile(kind), "rb") as fh:
        response = client.post(f"{API}/media", headers=owner.headers,
                               data={"file": (fh, "clip.mp4")})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_format"
    from pathlib import Path

    assert not list((Path(app.config["UPLOAD_DIR"]) / "incoming").glob("*.part"))


def test_size_limit_is_enforced_while_streaming(app, server, client, make_account,
                                                monkeypatch):
    owner = make_account("fan")
    monkeypatch.setitem(app.config, "MEDIA_MAX_BYTES", 100_000)
    big = b"\0\0\0\x18ftypmp42" + b"\0" * 200_000

    def chunks():  # chunked, no Content-Length: the limit can only be seen while streaming
        body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n"
                b"Content-Type: video/mp4\r\n\r\n" + big + b"\r\n--B--\r\n")
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]

    response = requests.post(f"{server.url}{API}/media", data=chunks(), timeout=30,
                             headers={**owner.headers,
                                      "Content-Type": "multipart/form-data; boundary=B"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    # a declared length above the limit is refused before reading
    response = client.post(f"{API}/media", headers=owner.headers,
                           data={"file": (io.BytesIO(big * 6), "a.mp4")})
    assert response.status_code == 413
    from pathlib import Path

    assert not list((Path(app.config["UPLOAD_DIR"]) / "incoming").glob("*.part"))


def test_multipart_needs_a_file_and_auth(client, make_account):
    owner = make_account("fan")
    assert client.post(f"{API}/media", data={"file": (io.BytesIO(b"x"), "a.mp4")}
                       ).status_code == 401
    response = client.post(f"{API}/media", headers=owner.headers, data={"other": "x"})
    assert response.status_code == 400
    response = client.post(f"{API}/media", headers=owner.headers, json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["upload_id"]


def test_image_upload_is_ready_at_once_without_metadata(app, server, client, make_account):
    owner = make_account("influencer")
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (37.0, 46.0, 30.0)}
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (640, 480), "orange").save(buf, "JPEG", exif=exif)
    response = client.post(f"{API}/media", headers=owner.headers,
                           data={"file": (io.BytesIO(buf.getvalue()), "photo.jpg")})
    assert response.status_code == 202
    media = response.get_json()
    assert (media["type"], media["status"], media["width"], media["height"]) == (
        "image", "ready", 640, 480)
    image = requests.get(on_server(server.url, media["url"]), timeout=10)
    assert image.headers["Content-Type"] == "image/jpeg"
    assert b"PhoneMaker" not in image.content and b"Exif" not in image.content
    thumb = Image.open(io.BytesIO(requests.get(on_server(server.url, media["thumbnail_url"]),
                                               timeout=10).content))
    assert max(thumb.size) <= 320
    broken = client.post(f"{API}/media", headers=owner.headers,
                         data={"file": (io.BytesIO(buf.getvalue()[:300]), "photo.jpg")})
    assert broken.status_code == 422 and broken.get_json()["error"]["code"] == "corrupt"


def test_media_files_route_is_traversal_safe(app, server, client, make_account, clip):
    owner = make_account("fan")
    with open(clip("small"), "rb") as fh:
        media = client.post(f"{API}/media", headers=owner.headers,
                            data={"file": (fh, "a.mp4")}).get_json()
    _wait_done(client, media["id"], owner)
    from media.service import get

    with app.app_context():
        original = get(media["id"]).original_key
    parts = urlsplit(server.url)
    for path in ("/media-files/../../etc/passwd", "/media-files/media/..%2f..%2fetc/passwd",
                 "/media-files/%2e%2e/%2e%2e/etc/passwd", "/media-files//etc/passwd",
                 f"/media-files/{original}", "/media-files/media/nope/x.mp4"):
        for _hop in range(3):
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("GET", path)  # raw: no client-side normalisation
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status != 308:  # werkzeug merges "//" by redirecting
                break
            path = urlsplit(response.getheader("Location")).path
            assert path.startswith("/media-files/")
        assert response.status in (404, 400), path
        assert b"root:" not in body


def test_get_unknown_media_is_404(client):
    assert client.get(f"{API}/media/nope").status_code == 404
    assert client.get(f"{API}/media/5f0000000000000000000000").status_code == 404
