"""The embedded store kept on disk: mongomock written to ``VAR_DIR/store`` and read back at start.

mongomock lives in the server's memory. So that ``make run`` stopped and started again still
has its data, the whole store is written as one BSON file (every collection, its documents and
its indexes) whenever it changed, at most every ``STORE_SNAPSHOT_SECONDS``, and once more at
shutdown; each write goes to a temporary file that replaces the previous one atomically, so a
crash mid-write leaves the last complete snapshot. ``kill -9`` loses at most the writes of the
last interval (plus the time one snapshot takes). One process owns a ``VAR_DIR``'s store (a
lock file): a second one refuses to start instead of overwriting the first one's data.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import bson
import mongoengine
from bson.codec_options import CodecOptions

from app import db

log = logging.getLogger(__name__)

FILE = "fanhub.bson"
_DECODE = CodecOptions(tz_aware=False)  # as mongomock keeps them: naive UTC


def dump(path: Path) -> int:
    """Write every collection to ``path`` atomically; returns the number of documents."""
    database = mongoengine.get_db()
    chunks: list[bytes] = []
    count = 0
    with db.lock():  # one consistent moment: no write runs meanwhile
        for name in sorted(database.list_collection_names()):
            collection = database[name]
            indexes = [
                {"name": index_name, "key": list(info["key"]),
                 **{k: v for k, v in info.items() if k not in ("key", "v", "ns")}}
                for index_name, info in collection.index_information().items() if index_name != "_id_"
            ]
            # the stored documents themselves (mongomock's store), encoded while the lock is
            # held: 20-40 ms for the demo's 3,600 documents where find()'s copies take 250-500
            documents = [bson.encode(doc) for doc in collection._store.documents]
            chunks.append(bson.encode({"collection": name, "indexes": indexes,
                                       "documents": len(documents)}))
            chunks.extend(documents)
            count += len(documents)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".snapshot-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def load(path: Path) -> int:
    """Fill the (empty) embedded store from ``path``; returns the number of documents."""
    if not path.exists():
        return 0
    database = mongoengine.get_db()
    count = 0
    with open(path, "rb") as source:
        documents = bson.decode_file_iter(source, codec_options=_DECODE)
        for header in documents:
            collection = database[header["collection"]]
            batch = [next(documents) for _ in range(header["documents"])]
            if batch:
                collection.insert_many(batch)
            # indexes after the documents: mongomock checks a unique index against every
            # document on each insert (a minute for the demo instead of half a second)
            for index in header["indexes"]:
                keys = [tuple(k) for k in index.pop("key")]
                collection.create_index(keys, **index)
            count += len(batch)
    return count


class Snapshots:
    """Owns a ``VAR_DIR``'s store: loads it, writes it when it changed, and at ``stop()``."""

    def __init__(self, directory: str | os.PathLike, seconds: float) -> None:
        self.path = Path(directory) / FILE
        self.seconds = seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lockfile = open(self.path.parent / "owner.lock", "a+")  # noqa: SIM115 (held for life)
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            raise RuntimeError(
                f"another process owns the embedded store in {self.path.parent}: stop it first, or "
                "give this one its own VAR_DIR (or STORE_SNAPSHOT_SECONDS=0 for a store in memory only)"
            ) from None
        self._written = 0  # db.writes() when last written
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-snapshots", daemon=True)

    def start(self) -> Snapshots:
        started = time.monotonic()
        count = load(self.path)
        self._written = db.writes()
        if count:
            log.warning("embedded store: %d documents read from %s in %.1f s", count, self.path,
                        time.monotonic() - started)
        self._thread.start()
        return self

    def write_if_changed(self) -> bool:
        writes = db.writes()
        if writes == self._written:
            return False
        dump(self.path)
        self._written = writes
        return True

    def _run(self) -> None:
        while not self._stopping.wait(self.seconds):
            try:
                self.write_if_changed()
            except Exception:  # the next round tries again; the last snapshot stays whole
                log.exception("writing the embedded store failed")

    def stop(self) -> None:
        """The last write, once nothing else writes (call after the worker stopped)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join()
        self.write_if_changed()
        fcntl.flock(self._lockfile, fcntl.LOCK_UN)
        self._lockfile.close()
