"""Resumable uploads (tus 1.0.0): state kept on disk beside the bytes.

Each upload is ``<root>/<id>.bin`` (the bytes received so far: its size IS the offset) and
``<id>.json`` (length, metadata, owner, expiry). Nothing lives only in memory, so a restarted
server, or another web process sharing the folder, resumes an upload where it stopped.
A PATCH holds an exclusive ``flock`` on the upload, so two PATCHes never interleave.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from werkzeug.exceptions import ClientDisconnected

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = "sha1"
CHUNK = 64 * 1024
_ID = re.compile(r"\A[0-9a-f]{32}\Z")


class TusError(Exception):
    """A request the protocol refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` -> dict (values decoded)."""
    result: dict[str, str] = {}
    if not header:
        return result
    if len(header) > 4096:
        raise TusError(400, "bad_metadata", "Upload-Metadata is too long")
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", key):
            raise TusError(400, "bad_metadata", "malformed Upload-Metadata key")
        try:
            raw = base64.b64decode(value.strip(), validate=True) if value else b""
            result[key] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(400, "bad_metadata", f"Upload-Metadata {key} is not base64") from None
    return result


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k
                    for k, v in metadata.items())


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() != "sha1":
        raise TusError(400, "bad_checksum", "only sha1 checksums are supported")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise TusError(400, "bad_checksum", "Upload-Checksum is not base64") from None
    if len(digest) != 20:
        raise TusError(400, "bad_checksum", "a sha1 digest has 20 bytes")
    return "sha1", digest


@dataclass
class Upload:
    id: str
    owner: str
    length: int
    metadata: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    expires_at: float = 0.0
    media_id: str | None = None
    root: Path = field(default=Path("."), repr=False)

    @property
    def data_path(self) -> Path:
        return self.root / f"{self.id}.bin"

    @property
    def state_path(self) -> Path:
        return self.root / f"{self.id}.json"

    @property
    def offset(self) -> int:
        try:
            return self.data_path.stat().st_size
        except FileNotFoundError:
            return self.length if self.media_id else 0

    @property
    def complete(self) -> bool:
        return self.media_id is not None or self.offset == self.length

    def save(self) -> None:
        state = {k: v for k, v in asdict(self).items() if k != "root"}
        tmp = self.state_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.state_path)


class UploadStore:
    """tus uploads under one folder (``UPLOAD_DIR/tus``)."""

    def __init__(self, root: str | os.PathLike, ttl_seconds: int = 24 * 3600) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.ttl = ttl_seconds

    def create(self, owner: str, length: int, metadata: dict[str, str], max_bytes: int) -> Upload:
        if length < 0:
            raise TusError(400, "bad_length", "Upload-Length must not be negative")
        if length > max_bytes:
            raise TusError(413, "too_large", f"uploads are limited to {max_bytes} bytes")
        now = time.time()
        upload = Upload(id=secrets.token_hex(16), owner=owner, length=length, metadata=metadata,
                        created_at=now, expires_at=now + self.ttl, root=self.root)
        upload.data_path.touch()
        upload.save()
        return upload

    def get(self, upload_id: str) -> Upload | None:
        """The upload, or None if unknown or expired (an expired one is removed)."""
        if not _ID.match(upload_id or ""):
            return None
        path = self.root / f"{upload_id}.json"
        try:
            state = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        upload = Upload(root=self.root, **state)
        if upload.expires_at < time.time():
            self.delete(upload)
            return None
        return upload

    @contextlib.contextmanager
    def locked(self, upload: Upload) -> Iterator[None]:
        """Exclusive use of one upload across threads and processes (409 when busy)."""
        with open(self.root / f"{upload.id}.lock", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TusError(409, "upload_busy",
                               "another request is writing this upload") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, upload: Upload, offset: int, body: BinaryIO, content_length: int | None,
               checksum: tuple[str, bytes] | None = None) -> int:
        """Write a PATCH body at ``offset``; returns the new offset.

        A body cut short (client gone) keeps what arrived, unless a checksum was sent: then
        the partial chunk cannot be verified and is dropped (tus checksum extension).
        """
        with self.locked(upload):
            start = upload.offset
            if upload.media_id is not None:
                raise TusError(409, "upload_complete", "this upload is already finished")
            if offset != start:
                raise TusError(409, "offset_mismatch",
                               f"Upload-Offset {offset} does not match the upload's offset {start}")
            room = upload.length - start
            if content_length is not None and content_length > room:
                raise TusError(413, "too_large", "the chunk goes past Upload-Length")
            digest = hashlib.sha1() if checksum else None
            written, cut_short = 0, False
            with open(upload.data_path, "r+b") as out:
                out.seek(start)
                while content_length is None or written < content_length:
                    want = CHUNK if content_length is None else min(CHUNK, content_length - written)
                    try:
                        data = body.read(want)
                    except Exception as exc:
                        if not _is_disconnect(exc):
                            raise
                        data = b""
                    if not data:
                        cut_short = content_length is not None and written < content_length
                        break
                    if written + len(data) > room:
                        out.truncate(start)
                        raise TusError(413, "too_large", "the chunk goes past Upload-Length")
                    out.write(data)
                    written += len(data)
                    if digest:
                        digest.update(data)
                if checksum and (cut_short or digest.digest() != checksum[1]):
                    out.truncate(start)
                    if cut_short:
                        raise TusError(400, "incomplete_chunk", "the chunk was cut short")
                    raise TusError(460, "checksum_mismatch", "Upload-Checksum does not match")
                out.flush()
                os.fsync(out.fileno())
            upload.expires_at = time.time() + self.ttl
            upload.save()
            return start + written

    def delete(self, upload: Upload) -> None:
        for path in (upload.data_path, upload.state_path, self.root / f"{upload.id}.lock"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def claim(self, upload: Upload, media_id: str) -> None:
        """Record that the bytes became ``media_id`` (a repeated claim returns the same media)."""
        upload.media_id = media_id
        upload.save()
        with contextlib.suppress(FileNotFoundError):
            upload.data_path.unlink()

    def expire(self, now: float | None = None) -> int:
        """Remove uploads past their expiry (abandoned or never claimed); returns how many."""
        now = time.time() if now is None else now
        removed = 0
        for state in self.root.glob("*.json"):
            try:
                expires = json.loads(state.read_text())["expires_at"]
            except (FileNotFoundError, ValueError, KeyError):
                expires = 0
            if expires < now:
                upload_id = state.stem
                for suffix in (".bin", ".json", ".lock"):
                    with contextlib.suppress(FileNotFoundError):
                        (self.root / f"{upload_id}{suffix}").unlink()
                removed += 1
        for orphan in self.root.glob("*.bin"):  # bytes whose state file is gone
            if not orphan.with_suffix(".json").exists() and orphan.stat().st_mtime < now - self.ttl:
                orphan.unlink(missing_ok=True)
        return removed


def _is_disconnect(exc: BaseException) -> bool:
    """Reading the request body failed because the client went away."""
    return isinstance(exc, (ClientDisconnected, OSError))
