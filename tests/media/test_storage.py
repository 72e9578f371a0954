"""One storage interface, two backends: local disk and S3 (moto's server over real HTTP)."""

from __future__ import annotations

import socket

import boto3
import pytest
import requests

from media.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    StorageError,
    TransientStorageError,
    rewrite_playlist,
    storage_from_config,
)
from tests.media.conftest import S3_CREDENTIALS


@pytest.fixture(params=["local", "s3-presigned", "s3-public"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    public = f"https://cdn.example.test/{bucket}" if request.param == "s3-public" else None
    return S3Storage(bucket, prefix="env/prod", endpoint_url=endpoint, public_base_url=public,
                     **S3_CREDENTIALS)


def test_round_trip_through_the_interface(storage, tmp_path):
    src = tmp_path / "a.mp4"
    src.write_bytes(b"\0\0\0\x18ftypmp42" + b"x" * 5000)
    storage.put_file("media/m1/original.mp4", src)
    storage.put_bytes("media/m1/hls/master.m3u8", b"#EXTM3U\n")
    assert src.exists()
    assert storage.exists("media/m1/original.mp4")
    assert not storage.exists("media/m1/nope.mp4")
    assert storage.get_bytes("media/m1/hls/master.m3u8") == b"#EXTM3U\n"
    with storage.local_copy("media/m1/original.mp4") as path:
        assert path.read_bytes() == src.read_bytes()
    with pytest.raises(ObjectNotFound):
        storage.get_bytes("media/m1/missing")
    moved = tmp_path / "b.jpg"
    moved.write_bytes(b"jpeg")
    storage.put_file("media/m1/poster.jpg", moved, move=True)
    assert not moved.exists() and storage.get_bytes("media/m1/poster.jpg") == b"jpeg"
    storage.put_bytes("media/m10/keep.txt", b"other media")
    assert storage.delete_prefix("media/m1") == 3
    assert not storage.exists("media/m1/original.mp4")
    assert storage.exists("media/m10/keep.txt")
    assert storage.delete_prefix("media/m1") == 0


def test_keys_cannot_escape(storage):
    for bad in ("../etc/passwd", "/abs", "a//b", "a/../../b", "a\\b", "", "a/./b"):
        with pytest.raises(StorageError):
            storage.put_bytes(bad, b"x")


def test_s3_keys_live_under_the_prefix_with_content_types(s3_endpoint, s3_bucket):
    store = S3Storage(s3_bucket, prefix="/tenant/", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    store.put_bytes("media/x/hls/720p/seg_00000.ts", b"ts")
    raw = boto3.client("s3", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    head = raw.head_object(Bucket=s3_bucket, Key="tenant/media/x/hls/720p/seg_00000.ts")
    assert head["ContentType"] == "video/mp2t"


def test_s3_presigned_urls_fetch_over_http(s3_endpoint, s3_bucket):
    store = S3Storage(s3_bucket, endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    store.put_bytes("media/x/720p.mp4", b"video bytes")
    url = store.url("media/x/720p.mp4")
    assert "Signature" in url or "X-Amz-Signature" in url
    assert requests.get(url, timeout=10).content == b"video bytes"
    # playlists go through the app, which rewrites segment URIs to presigned ones
    assert store.url("media/x/hls/master.m3u8") == "/media-files/media/x/hls/master.m3u8"


def test_s3_public_base_url(s3_endpoint, s3_bucket):
    store = S3Storage(s3_bucket, prefix="p", endpoint_url=s3_endpoint,
                      public_base_url="https://cdn.example.test/", **S3_CREDENTIALS)
    assert store.url("media/x/hls/master.m3u8") == "https://cdn.example.test/p/media/x/hls/master.m3u8"


def test_unreachable_s3_is_a_transient_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = S3Storage("b", endpoint_url=f"http://127.0.0.1:{port}", **S3_CREDENTIALS)
    with pytest.raises(TransientStorageError):
        store.put_bytes("media/x/a.ts", b"x")


def test_rewrite_playlist_presigns_segments_only():
    text = "#EXTM3U\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n"
    out = rewrite_playlist(text, lambda key: f"https://s3/{key}?sig", "media/x/hls/720p/index.m3u8")
    assert "https://s3/media/x/hls/720p/seg_00000.ts?sig" in out
    master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n"
    assert rewrite_playlist(master, lambda key: "nope", "media/x/hls/master.m3u8") == master


def test_config_selects_the_backend(tmp_path, s3_env):
    assert isinstance(storage_from_config({"MEDIA_DIR": str(tmp_path)}), LocalStorage)
    s3 = storage_from_config({"MEDIA_DIR": str(tmp_path), "S3_BUCKET": "b",
                              "S3_ENDPOINT_URL": s3_env, "S3_PREFIX": "x"})
    assert isinstance(s3, S3Storage) and s3.prefix == "x/"
