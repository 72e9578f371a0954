"""Issue 15 finding 3 and issue 16 item 4: media are shown only with a post the viewer may
see, and deleted content's files are gone (local disk and S3 over HTTP, moto's server).

Before: ``GET /media/{id}`` served any ready media whatever its post's state, so a
female-targeted video's HLS, a fan video held for review and a deleted post's image could
all be fetched by anyone who guessed (enumerated) the id.
"""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from tests.media.conftest import S3_CREDENTIALS
from tests.support import on_server, wait_for

API = "/api/v1"


def _video(server, client, actor, clip) -> dict:
    with open(clip("small"), "rb") as fh:
        r = requests.post(f"{server.url}{API}/media", headers=actor.headers,
                          files={"file": ("v.mp4", fh)}, timeout=60)
    assert r.status_code == 202, r.text
    media_id = r.json()["id"]
    return wait_for(lambda: (m := client.get(f"{API}/media/{media_id}", headers=actor.headers)
                             .get_json())["status"] == "ready" and m, timeout=60)


def _image(client, actor) -> dict:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), "purple").save(buf, "PNG")
    r = client.post(f"{API}/media", headers=actor.headers,
                    data={"file": (io.BytesIO(buf.getvalue()), "p.png")})
    assert r.status_code == 202, r.get_json()
    return r.get_json()


def _post(client, actor, **body) -> dict:
    r = client.post(f"{API}/posts", json=body, headers=actor.headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _status(client, media_id, actor=None) -> int:
    return client.get(f"{API}/media/{media_id}",
                      headers=actor.headers if actor else {}).status_code


def test_a_targeted_video_and_its_hls_are_only_for_its_audience(server, client, make_account,
                                                                clip):
    brand = make_account("influencer")
    woman = make_account("fan", profile={"gender": "female"})
    man = make_account("fan", profile={"gender": "male"})
    media = _video(server, client, brand, clip)
    post = _post(client, brand, kind="video", text="for her", media_ids=[media["id"]],
                 audience={"gender": "female"})
    assert post["status"] == "published"
    for viewer in (man, None):
        assert client.get(f"{API}/posts/{post['id']}",
                          headers=viewer.headers if viewer else {}).status_code == 404
        assert _status(client, media["id"], viewer) == 404
    seen = client.get(f"{API}/media/{media['id']}", headers=woman.headers).get_json()
    assert requests.get(on_server(server.url, seen["hls_url"]), timeout=10).status_code == 200
    # its file URLs cannot be made from its id: 128 random bits in the key
    folder = seen["hls_url"].split("/media/", 1)[1].split("/", 1)[0]
    assert folder.startswith(media["id"] + "-") and len(folder.split("-", 1)[1]) >= 32
    for guess in (f"media/{media['id']}/master.m3u8", f"media/{media['id']}/poster.jpg"):
        assert requests.get(f"{server.url}/media-files/{guess}", timeout=10).status_code == 404


def test_a_held_fan_video_is_its_authors_and_moderators_only(server, client, make_account, clip):
    fan, other = make_account("fan"), make_account("fan")
    moderator = make_account("fan", roles=("moderator",))
    media = _video(server, client, fan, clip)
    post = _post(client, fan, kind="video", text="my entry", media_ids=[media["id"]])
    assert post["status"] == "pending_review"
    assert _status(client, media["id"], other) == 404
    assert _status(client, media["id"]) == 404
    assert _status(client, media["id"], fan) == 200
    assert _status(client, media["id"], moderator) == 200


def test_media_of_no_post_is_its_owners_until_an_avatar_or_a_post_shows_it(client,
                                                                           make_account):
    owner, other = make_account("merchant"), make_account("fan")
    avatar, loose = _image(client, owner), _image(client, owner)
    assert _status(client, loose["id"], other) == 404 and _status(client, loose["id"]) == 404
    assert _status(client, loose["id"], owner) == 200
    r = client.patch(f"{API}/accounts/me", json={"avatar_media_id": avatar["id"]},
                     headers=owner.headers)
    assert r.status_code == 200
    assert _status(client, avatar["id"]) == 200
    _post(client, owner, kind="post", text="look", media_ids=[loose["id"]])
    assert _status(client, loose["id"]) == 200


def _files_of(app, media_id) -> list[str]:
    """Every stored key of a media, asked of the configured backend."""
    from media.models import Media
    from media.service import storage

    with app.app_context():
        media = Media.objects(id=media_id).first()
        if media is None:
            return []
        keys = [k for k in (media.image_key, media.thumbnail_key, media.original_key) if k]
        return [k for k in keys if storage().exists(k)]


def _deleted_content_is_gone(app, server, client, make_account, listing):
    """Delete a post, a media and an account: nothing is served at once, and every stored
    file is gone soon after (``listing(ids)`` lists what the backend still holds of them)."""
    brand = make_account("merchant")
    fan = make_account("fan")
    shown = _image(client, brand)
    post = _post(client, brand, kind="post", text="sale", media_ids=[shown["id"]])
    seen = client.get(f"{API}/posts/{post['id']}").get_json()["media"][0]
    url = seen["url"]
    if "/media-files/" in url:  # served by the app (local disk), else S3's own URL
        url = on_server(server.url, url)
    assert requests.get(url, timeout=10).status_code == 200
    loose = _image(client, brand)
    leaving = _image(client, fan)
    ids = [shown["id"], loose["id"], leaving["id"]]
    assert len(listing(ids)) == 6  # image and thumbnail of each
    assert client.delete(f"{API}/posts/{post['id']}", headers=brand.headers).status_code == 204
    assert _status(client, shown["id"], brand) == 404
    if "/media-files/" in url:  # served by the app: refused at once, before the purge
        assert requests.get(url, timeout=10).status_code == 404
    assert client.delete(f"{API}/media/{loose['id']}", headers=fan.headers).status_code == 404
    assert client.delete(f"{API}/media/{loose['id']}", headers=brand.headers).status_code == 204
    assert _status(client, loose["id"], brand) == 404
    r = client.delete(f"{API}/accounts/me", json={"password": "password123"}, headers=fan.headers)
    assert r.status_code == 204
    wait_for(lambda: listing(ids) == [], timeout=60)
    assert requests.get(url, timeout=10).status_code in (403, 404)
    with app.app_context():
        from media.models import Media

        assert Media.objects(id__in=ids).count() == 0


def test_deleted_contents_files_are_gone_from_disk(app, server, client, make_account):
    from media.service import storage

    with app.app_context():
        root = storage().root

    def listing(ids: list[str]) -> list[str]:
        return sorted(str(p) for i in ids for p in (root / "media").glob(f"{i}-*/*"))

    _deleted_content_is_gone(app, server, client, make_account, listing)


def test_deleted_contents_files_are_gone_from_s3(app, server, client, make_account,
                                                 s3_endpoint, s3_bucket, monkeypatch):
    import boto3

    from media.storage import S3Storage

    store = S3Storage(s3_bucket, prefix="site", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    monkeypatch.setitem(app.extensions, "media_storage", store)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **S3_CREDENTIALS)

    def listing(ids: list[str]) -> list[str]:
        found = s3.list_objects_v2(Bucket=s3_bucket, Prefix="site/media/")
        return sorted(o["Key"] for o in found.get("Contents", [])
                      if o["Key"].split("/")[2].split("-")[0] in ids)

    _deleted_content_is_gone(app, server, client, make_account, listing)


def test_a_lost_purge_job_is_made_up_by_the_sweep(app, client, make_account, monkeypatch):
    """The job that removes the files is lost (no broker): the periodic sweep removes them."""
    from media import service

    brand = make_account("merchant")
    media = _image(client, brand)
    monkeypatch.setattr(service, "enqueue",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("broker down")))
    assert client.delete(f"{API}/media/{media['id']}", headers=brand.headers).status_code == 204
    assert len(_files_of(app, media["id"])) == 2
    monkeypatch.undo()
    with app.app_context():
        assert service.purge_deleted() == 1
    assert _files_of(app, media["id"]) == []


@pytest.mark.parametrize("field", ["poster_url", "hls_url"])
def test_a_deleted_videos_files_are_not_served(server, client, make_account, clip, field):
    brand = make_account("influencer")
    media = _video(server, client, brand, clip)
    post = _post(client, brand, kind="video", text="v", media_ids=[media["id"]])
    url = on_server(server.url, media[field])
    assert requests.get(url, timeout=10).status_code == 200
    assert client.delete(f"{API}/posts/{post['id']}", headers=brand.headers).status_code == 204
    assert requests.get(url, timeout=10).status_code == 404


def test_file_urls_are_signed_per_media_and_expire(app, server, client, make_account):
    """The app serves a stored file only at a signed path (``media/signing.py``): not at its
    bare key, not with another media's signature, not once expired."""
    import time

    from media.service import storage

    owner = make_account("merchant")
    one, other = _image(client, owner), _image(client, owner)
    good = on_server(server.url, one["url"])
    assert requests.get(good, timeout=10).status_code == 200
    signed = good.split("/media-files/", 1)[1]
    _, expires, sig, key = signed.split("/", 3)
    other_key = on_server(server.url, other["url"]).split("/media-files/", 1)[1].split("/", 3)[3]
    with app.app_context():
        signer = storage().signer
        stale = signer.path(key, now=time.time() - signer.ttl - 7200)
    base = f"{server.url}/media-files"
    for path in (key,  # the bare key
                 f"s/{expires}/{sig[:-2]}AA/{key}",  # a forged signature
                 f"s/{int(expires) + 3600}/{sig}/{key}",  # a later expiry
                 f"s/{expires}/{sig}/{other_key}",  # one media's signature on another's
                 stale):  # a signature that expired
        assert requests.get(f"{base}/{path}", timeout=10).status_code == 404, path
    assert requests.get(f"{base}/{signed}", timeout=10).status_code == 200


def _strays_are_purged(app, client, make_account, put, listing, min_age):
    """Folders of media that no longer exist (their record lost with a store, a crash between
    storing and saving) go; folders of existing media and fresh ones stay."""
    from bson import ObjectId

    from media import service

    owner = make_account("merchant")
    kept = _image(client, owner)
    stray, fresh = f"media/{ObjectId()}-lost", f"originals/{ObjectId()}-lost"
    put(f"{stray}/image.png", old=True)
    put(f"{fresh}/original.mp4", old=False)
    with app.app_context():
        assert service.purge_strays(min_age) >= 1  # (disk: older tests may leave strays too)
    left = listing()
    assert not any(k.startswith(stray) for k in left)
    assert any(k.startswith(fresh) for k in left) == (min_age > 0)
    assert any(k.startswith(f"media/{kept['id']}-") for k in left)
    assert client.get(f"{API}/media/{kept['id']}", headers=owner.headers).status_code == 200


def test_stray_files_on_disk_are_purged(app, client, make_account):
    import os
    import time

    from media.service import storage

    with app.app_context():
        root = storage().root

    def put(key: str, old: bool) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        if old:
            past = time.time() - 7200
            os.utime(path, (past, past))

    def listing() -> list[str]:
        return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]

    _strays_are_purged(app, client, make_account, put, listing, 3600)


def test_stray_files_in_s3_are_purged(app, client, make_account, s3_endpoint, s3_bucket,
                                      monkeypatch):
    import boto3

    from media.storage import S3Storage

    store = S3Storage(s3_bucket, prefix="site", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    monkeypatch.setitem(app.extensions, "media_storage", store)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    fresh: list[str] = []

    def put(key: str, old: bool) -> None:
        if old:  # S3 keeps its own times: an "old" stray is the only one written before
            store.put_bytes(key, b"x")
        else:
            fresh.append(key)

    def listing() -> list[str]:
        found = s3.list_objects_v2(Bucket=s3_bucket, Prefix="site/")
        return [o["Key"][len("site/"):] for o in found.get("Contents", [])]

    # every folder counts as old here (age 0): the stray goes, the existing media stays
    _strays_are_purged(app, client, make_account, put, listing, 0)
    assert fresh
