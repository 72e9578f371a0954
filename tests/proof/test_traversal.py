"""Path traversal in media ids, upload ids and stored-file keys: always a 4xx, never a file.

The ids are tried raw, percent-encoded, double-encoded and with backslashes, against every
route that takes one; the answer must never carry a file from outside the media store (the
passwd file, the app's source, the tus state files, the originals).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

TUS = {"Tus-Resumable": "1.0.0"}
SECRETS = ("root:x:0:0", "SECRET_KEY", "def create_app", '"owner"', "Upload-Length")

TRAVERSALS = [
    "../../../../etc/passwd", "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%252e%252e%252fetc%252fpasswd",
    "..%5C..%5C..%5Cetc%5Cpasswd", "....//....//etc/passwd", "%2e%2e/%2e%2e/app/config.py",
    "/etc/passwd", "%2Fetc%2Fpasswd", "..", ".", "%00", "a%00.json", "..%00/etc/passwd",
    "tus/../../config", "..%252f..%252fwsgi.py", "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
]


def _leaks(response) -> bool:
    text = response.content.decode("utf-8", "replace")
    return any(secret in text for secret in SECRETS)


def _assert_safe(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:200]}"
    assert response.status_code in (301, 302, 308, 400, 401, 403, 404, 405, 409, 412, 415), \
        f"{what}: {response.status_code} {response.text[:200]}"
    assert not _leaks(response), f"{what} leaked a file: {response.text[:200]}"


def test_media_and_upload_ids_cannot_traverse(server, world):
    import requests

    session = requests.Session()
    base = server.url + "/api/v1"
    auth = world.fan.headers
    for raw in TRAVERSALS:
        for value in (raw, quote(raw, safe="")):
            cases = [
                ("GET", f"{base}/media/{value}", {}),
                ("GET", f"{base}/media/{value}", auth),
                ("HEAD", f"{base}/uploads/{value}", {**auth, **TUS}),
                ("PATCH", f"{base}/uploads/{value}", {
                    **auth, **TUS, "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream"}),
                ("DELETE", f"{base}/uploads/{value}", {**auth, **TUS}),
                ("GET", f"{server.url}/media-files/{value}", {}),
                ("GET", f"{server.url}/media-files/media/{value}", {}),
            ]
            for method, url, headers in cases:
                r = session.request(method, url, headers=headers, data=b"x" if method == "PATCH"
                                    else None, allow_redirects=False)
                _assert_safe(r, f"{method} {url}")
        r = session.post(base + "/media", json={"upload_id": raw}, headers=auth)
        _assert_safe(r, f"POST /media upload_id={raw}")
        r = session.post(base + "/posts", json={"kind": "video", "media_ids": [raw[:40]]},
                         headers=auth)
        _assert_safe(r, f"POST /posts media_ids=[{raw}]")


@pytest.fixture
def upload(http, world) -> str:
    r = http.post(http.base + "/uploads", headers={**world.fan.headers, **TUS,
                                                   "Upload-Length": "10"})
    assert r.status_code == 201, r.text
    return r.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_an_upload_is_only_its_owners(http, world, upload):
    other = world.other_fan.headers
    for method in ("HEAD", "DELETE"):
        r = http.request(method, f"{http.base}/uploads/{upload}", headers={**other, **TUS})
        assert r.status_code == 403, (method, r.status_code)
    r = http.patch(f"{http.base}/uploads/{upload}", data=b"0123456789", headers={
        **other, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 403
    r = http.post(http.base + "/media", json={"upload_id": upload}, headers=other)
    assert r.status_code == 403
    r = http.head(f"{http.base}/uploads/{upload}", headers={**world.fan.headers, **TUS})
    assert r.status_code == 200 and r.headers["Upload-Offset"] == "0"
    # anonymous: 401 on every tus route
    for method in ("HEAD", "PATCH", "DELETE"):
        r = http.request(method, f"{http.base}/uploads/{upload}", headers=TUS)
        assert r.status_code == 401, (method, r.status_code)


def test_upload_metadata_filenames_do_not_escape(http, world, tmp_path):
    import base64

    for name in ("../../../../tmp/evil.mp4", "/etc/passwd", "..\\..\\evil", "a\x00b.mp4"):
        meta = "filename " + base64.b64encode(name.encode()).decode()
        r = http.post(http.base + "/uploads", headers={
            **world.fan.headers, **TUS, "Upload-Length": "4", "Upload-Metadata": meta})
        assert r.status_code in (201, 400), r.text
        if r.status_code == 201:
            location = r.headers["Location"]
            r = http.patch(location if location.startswith("http") else
                           http.base.rsplit("/api/v1", 1)[0] + location,
                           data=b"abcd", headers={
                               **world.fan.headers, **TUS, "Upload-Offset": "0",
                               "Content-Type": "application/offset+octet-stream"})
            assert r.status_code == 204, r.text
    from pathlib import Path

    assert not Path("/tmp/evil.mp4").exists()
