"""Absolute URLs in bodies, over real HTTP: media, posters, renditions, HLS, tus Location,
from PUBLIC_BASE_URL or else the request's own address."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from tests.support import wait_for

API = "/api/v1"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), "purple").save(out, "PNG")
    return out.getvalue()


def _urls(media: dict) -> list[str]:
    found = [media[k] for k in ("poster_url", "hls_url", "url", "thumbnail_url") if media.get(k)]
    return found + [r["url"] for r in media.get("renditions", [])]


def _video_ready(server, owner, clip) -> dict:
    with open(clip("small"), "rb") as fh:
        r = requests.post(f"{server.url}{API}/media", headers=owner.headers,
                          files={"file": ("v.mp4", fh, "video/mp4")}, timeout=60)
    assert r.status_code == 202, r.text

    def ready():
        body = requests.get(f"{server.url}{API}/media/{r.json()['id']}",
                            headers=owner.headers, timeout=10).json()
        return body if body["status"] == "ready" else None

    return wait_for(ready, timeout=90)


def test_every_url_in_a_body_is_absolute_and_fetchable(server, make_account, clip):
    merchant, fan = make_account("merchant"), make_account()
    image = requests.post(f"{server.url}{API}/media", headers=merchant.headers,
                          files={"file": ("a.png", _png(), "image/png")}, timeout=30).json()
    video = _video_ready(server, merchant, clip)
    assert video["hls_url"] and video["renditions"] and video["poster_url"]
    follow = requests.post(f"{server.url}{API}/accounts/{merchant.id}/follow",
                           headers=fan.headers, timeout=10)
    assert follow.status_code == 200
    post = requests.post(f"{server.url}{API}/posts", headers=merchant.headers, timeout=10,
                         json={"kind": "post", "text": "新品", "media_ids": [image["id"]]})
    assert post.status_code == 201, post.text
    read = requests.get(f"{server.url}{API}/posts/{post.json()['id']}", timeout=10).json()
    home = wait_for(lambda: (r := requests.get(f"{server.url}{API}/feed/home",
                                               headers=fan.headers, timeout=10).json())["items"]
                    and r)
    seen = _urls(image) + _urls(video) + _urls(read["media"][0]) + \
        _urls(home["items"][0]["media"][0])
    assert len(seen) >= 9
    for url in seen:
        assert url.startswith(server.url + "/media-files/"), url
        assert requests.get(url, timeout=10).status_code == 200, url


def test_the_base_is_the_address_the_client_used(server, make_account):
    fan = make_account()
    r = requests.post(f"{server.url}{API}/media", timeout=30,
                      headers={**fan.headers, "Host": "api.fanhub.test:8443"},
                      files={"file": ("a.png", _png(), "image/png")})
    assert r.json()["url"].startswith("http://api.fanhub.test:8443/media-files/")
    # (its owner reads it: a media of no post is its owner's only, issue 15)
    again = requests.get(f"{server.url}{API}/media/{r.json()['id']}", timeout=10,
                         headers=fan.headers)
    assert again.json()["url"].startswith(server.url + "/media-files/")
    other = requests.get(f"{server.url}{API}/media/{r.json()['id']}", timeout=10,
                         headers={**fan.headers, "Host": "cdn.fanhub.test"})
    assert other.json()["url"].startswith("http://cdn.fanhub.test/media-files/")


def test_the_tus_location_is_absolute(server, make_account):
    fan = make_account()
    r = requests.post(f"{server.url}{API}/uploads", timeout=10, headers={
        **fan.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert r.status_code == 201
    location = r.headers["Location"]
    assert location.startswith(f"{server.url}{API}/uploads/")
    head = requests.head(location, headers={**fan.headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert head.status_code == 200 and head.headers["Upload-Length"] == "10"


@pytest.fixture
def public_base(app):
    """PUBLIC_BASE_URL set (storage is built from the config once: rebuild it)."""
    app.config["PUBLIC_BASE_URL"] = "https://api.fanhub.test/"
    app.extensions.pop("media_storage", None)
    yield "https://api.fanhub.test"
    app.config["PUBLIC_BASE_URL"] = None
    app.extensions.pop("media_storage", None)


def test_public_base_url_wins_over_the_request(server, make_account, public_base):
    fan = make_account()
    r = requests.post(f"{server.url}{API}/media", headers=fan.headers, timeout=30,
                      files={"file": ("a.png", _png(), "image/png")})
    media = r.json()
    assert media["url"].startswith(public_base + "/media-files/")
    assert media["thumbnail_url"].startswith(public_base + "/media-files/")
    tus = requests.post(f"{server.url}{API}/uploads", timeout=10, headers={
        **fan.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert tus.headers["Location"].startswith(f"{public_base}{API}/uploads/")
