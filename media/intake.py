"""Receive a multipart upload straight to disk, never holding the file in memory.

Werkzeug's streaming multipart decoder is fed 64 KB at a time from the request stream; the
``file`` part's bytes go to a temporary file in ``UPLOAD_DIR`` (same filesystem as local
storage, so storing it is a rename). The size limit is enforced while streaming, and the
container is sniffed from the first bytes so a wrong type is refused before the rest arrives.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from werkzeug.exceptions import ClientDisconnected
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from media.probe import sniff

CHUNK = 64 * 1024
SNIFF_BYTES = 64


class IntakeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Received:
    path: Path
    filename: str
    size: int
    kind: str  # "video" | "image"
    container: str  # demuxer or image format


def safe_name(filename: str | None) -> str:
    """A display-only file name: no path, no control characters, bounded."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:200]


def receive_multipart(stream: BinaryIO, boundary: bytes, folder: str | os.PathLike,
                      max_bytes: int, field_name: str = "file") -> Received:
    """Stream the ``field_name`` part of a multipart body into a new file under ``folder``.

    413 past ``max_bytes``, 415 when the first bytes are not a container we accept, 400 when
    the body has no such part or ends early. The file is removed on every error.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    decoder = MultipartDecoder(boundary, max_form_memory_size=1024 * 1024, max_parts=16)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=folder)
    path = Path(name)
    out = os.fdopen(fd, "wb")
    size, head, kind = 0, b"", None
    state = "before"  # before -> in_file -> done
    filename = ""
    ok = False
    try:
        while True:
            try:
                chunk = stream.read(CHUNK)
            except (ClientDisconnected, OSError):
                raise IntakeError(400, "incomplete_upload", "the upload was cut short") from None
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while not isinstance(event, (NeedData, Epilogue)):
                if isinstance(event, File) and event.name == field_name and state == "before":
                    state, filename = "in_file", safe_name(event.filename)
                elif isinstance(event, (File, Field)):
                    state = "done" if state == "in_file" else state
                elif isinstance(event, Data) and state == "in_file":
                    size += len(event.data)
                    if size > max_bytes:
                        raise IntakeError(413, "too_large",
                                          f"uploads are limited to {max_bytes} bytes")
                    if kind is None:
                        head += event.data[: SNIFF_BYTES - len(head)]
                        if len(head) >= SNIFF_BYTES or not event.more_data:
                            kind = _sniff(head)
                    out.write(event.data)
                    if not event.more_data:
                        state = "done"
                event = decoder.next_event()
            if isinstance(event, Epilogue) or not chunk:
                break
        if state == "before":
            raise IntakeError(400, "validation_error", f"send the file in a '{field_name}' part")
        if state == "in_file":
            raise IntakeError(400, "incomplete_upload", "the upload was cut short")
        if size == 0:
            raise IntakeError(400, "validation_error", "the file is empty")
        if kind is None:
            kind = _sniff(head)
        out.close()
        ok = True
        return Received(path=path, filename=filename, size=size, kind=kind[0], container=kind[1])
    except ValueError as exc:  # malformed multipart
        raise IntakeError(400, "bad_request", f"malformed multipart body: {exc}") from None
    finally:
        if not ok:
            out.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _sniff(head: bytes) -> tuple[str, str]:
    kind = sniff(head)
    if kind is None:
        raise IntakeError(415, "unsupported_format",
                          "only videos (MP4, MOV, WebM, MKV, AVI, 3GP) and images "
                          "(JPEG, PNG, WebP) are accepted")
    return kind
