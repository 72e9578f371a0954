"""Where media bytes live: one small interface, a local-disk backend and an S3 backend.

Keys are relative, slash-separated paths (``media/<id>-<token>/720p.mp4``). Every backend
writes a key at most once per job run and overwrites on a re-run, so jobs stay idempotent.
Errors that may go away on a retry (network, throttling, 5xx) are raised as
``TransientStorageError`` so jobs retry those and nothing else.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol

from flask import current_app

from media.signing import UrlSigner

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}


class StorageError(Exception):
    """A storage operation failed for good (bad key, missing object, denied)."""


class TransientStorageError(StorageError):
    """A storage operation failed in a way a retry may fix (network, throttling, 5xx)."""


class ObjectNotFound(StorageError):
    """The key does not exist."""


def content_type_for(key: str) -> str:
    suffix = PurePosixPath(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key; anything that could escape is refused."""
    if not key or len(key) > 1024 or "\\" in key or "\x00" in key or key.startswith("/"):
        raise StorageError(f"invalid key {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise StorageError(f"invalid key {key!r}")
    return key


class Storage(Protocol):
    """The one interface every backend implements."""

    def put_file(self, key: str, path: str | os.PathLike, content_type: str | None = None,
                 move: bool = False) -> None:
        """Store a local file under ``key``; ``move`` lets a backend take the file over."""

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local path holding the object for the duration of the ``with`` block."""

    def exists(self, key: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under ``prefix``; returns how many went."""

    def folders(self, top: str) -> Iterator[tuple[str, float]]:
        """Each folder under ``top`` (``media/<id>-<random>``) with its newest file's time."""

    def url(self, key: str) -> str:
        """A URL a client can fetch the object from."""


class LocalStorage:
    """Files under one root folder, served by the app at ``base_url`` (``/media-files``)."""

    def __init__(self, root: str | os.PathLike, base_url: str = "/media-files",
                 signer: UrlSigner | None = None) -> None:
        self.root = Path(root).resolve()
        self.base_url = base_url.rstrip("/")
        self.signer = signer  # signed, expiring URLs (media/signing.py); None: plain paths
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file for ``key``; refuses anything outside the root (symlinks included)."""
        target = (self.root / check_key(key)).resolve()
        if self.root not in target.parents:
            raise StorageError(f"invalid key {key!r}")
        return target

    def put_file(self, key: str, path: str | os.PathLike, content_type: str | None = None,
                 move: bool = False) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        if move:
            try:
                os.replace(path, target)
                return
            except OSError:
                pass  # another filesystem: copy below
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        if move:
            os.unlink(path)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        yield path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete_prefix(self, prefix: str) -> int:
        folder = self.path(prefix.rstrip("/"))
        if folder.is_file():
            folder.unlink()
            return 1
        if not folder.is_dir():
            return 0
        try:
            count = sum(1 for p in folder.rglob("*") if p.is_file())
        except FileNotFoundError:  # another deleter got there first
            count = 0
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def folders(self, top: str) -> Iterator[tuple[str, float]]:
        base = self.path(top)
        if not base.is_dir():
            return
        for folder in base.iterdir():
            try:
                newest = max((p.stat().st_mtime for p in folder.rglob("*")),
                             default=folder.stat().st_mtime)
            except FileNotFoundError:  # removed meanwhile
                continue
            yield f"{top}/{folder.name}", newest

    def url(self, key: str) -> str:
        check_key(key)
        return f"{self.base_url}/{self.signer.path(key) if self.signer else key}"


class S3Storage:
    """Objects in an S3 bucket (or any S3-compatible store via ``endpoint_url``).

    URLs are ``public_base_url + key`` when the bucket (or a CDN) is public, else presigned
    GET URLs valid for ``url_ttl`` seconds. HLS playlists cannot carry presigned segment URLs
    by relative reference, so in presigned mode ``app_base_url`` (the app's ``/media-files``
    route) serves playlists rewritten with presigned segment URLs.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 public_base_url: str | None = None, url_ttl: int = 6 * 3600,
                 app_base_url: str = "/media-files", client: object | None = None,
                 signer: UrlSigner | None = None, **client_kwargs: object) -> None:
        import boto3  # imported here: boto3 loads only when S3 storage is configured
        from botocore.config import Config as BotoConfig  # imported here: likewise, S3 only

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.url_ttl = url_ttl
        self.app_base_url = app_base_url.rstrip("/")
        self.signer = signer  # for the playlists the app serves (presigned mode)
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url,
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                              signature_version="s3v4"),
            **client_kwargs,
        )

    @property
    def presigned(self) -> bool:
        return self.public_base_url is None

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        # imported here: botocore loads only when S3 storage is configured
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error.get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(key) from exc
            if status >= 500 or status == 429 or error.get("Code") in (
                    "SlowDown", "RequestTimeout", "Throttling", "InternalError"):
                raise TransientStorageError(f"{key}: {error.get('Code')}") from exc
            raise StorageError(f"{key}: {error.get('Code')} {error.get('Message')}") from exc
        except BotoCoreError as exc:  # connection refused, timeouts, DNS
            raise TransientStorageError(f"{key}: {exc}") from exc

    def put_file(self, key: str, path: str | os.PathLike, content_type: str | None = None,
                 move: bool = False) -> None:
        extra = {"ContentType": content_type or content_type_for(key)}
        with self._errors(key):
            self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs=extra)
        if move:
            os.unlink(path)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                   ContentType=content_type or content_type_for(key))

    def get_bytes(self, key: str) -> bytes:
        with self._errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="media-s3-") as tmp:
            path = Path(tmp) / PurePosixPath(key).name
            with self._errors(key):
                self.client.download_file(self.bucket, self._key(key), str(path))
            yield path

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ObjectNotFound:
            return False

    def delete_prefix(self, prefix: str) -> int:
        full = self.prefix + check_key(prefix.rstrip("/")) + "/"
        count = 0
        with self._errors(prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
                    count += len(keys)
        return count

    def folders(self, top: str) -> Iterator[tuple[str, float]]:
        full = self.prefix + check_key(top) + "/"
        newest: dict[str, float] = {}
        with self._errors(top):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(full):].split("/", 1)[0]
                    at = obj["LastModified"].timestamp()
                    newest[name] = max(at, newest.get(name, at))
        for name, at in newest.items():
            yield f"{top}/{name}", at

    def presigned_url(self, key: str) -> str:
        with self._errors(key):
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)},
                ExpiresIn=self.url_ttl)

    def url(self, key: str) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{self._key(key)}"
        if key.endswith(".m3u8"):
            check_key(key)
            return f"{self.app_base_url}/{self.signer.path(key) if self.signer else key}"
        return self.presigned_url(key)


def storage_from_config(config: dict | object) -> LocalStorage | S3Storage:
    """The backend the config selects: S3 when ``S3_BUCKET`` is set, else ``MEDIA_DIR``."""
    get = config.get if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
    base = get("MEDIA_URL_PATH") or "/media-files"
    if base.startswith("/") and get("PUBLIC_BASE_URL"):  # absolute URLs (app/urls.py)
        base = get("PUBLIC_BASE_URL").rstrip("/") + base
    secret = get("SECRET_KEY")
    signer = UrlSigner(secret, int(get("MEDIA_URL_TTL") or 6 * 3600)) if secret else None
    if get("S3_BUCKET"):
        return S3Storage(
            bucket=get("S3_BUCKET"), prefix=get("S3_PREFIX") or "",
            endpoint_url=get("S3_ENDPOINT_URL"), public_base_url=get("S3_PUBLIC_BASE_URL"),
            url_ttl=int(get("S3_URL_TTL") or 6 * 3600), app_base_url=base, signer=signer,
        )
    return LocalStorage(get("MEDIA_DIR"), base_url=base, signer=signer)


def storage() -> LocalStorage | S3Storage:
    """The configured backend (built once per app)."""
    ext = current_app.extensions
    if "media_storage" not in ext:
        ext["media_storage"] = storage_from_config(current_app.config)
    return ext["media_storage"]


def url(key: str | None) -> str | None:
    """Where a client fetches ``key`` (None for no key)."""
    return storage().url(key) if key else None


def rewrite_playlist(text: str, to_url: object, base_key: str) -> str:
    """Rewrite a playlist's segment URIs with ``to_url(key)`` (presigned S3 mode).

    Lines naming other playlists keep relative references (the app serves those too).
    """
    folder = str(PurePosixPath(base_key).parent)
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#") and not line.endswith(".m3u8"):
            key = str(PurePosixPath(folder) / line) if "://" not in line else None
            out.append(to_url(check_key(key)) if key else line)
        else:
            out.append(line)
    return "\n".join(out) + "\n"
