"""MongoDB through mongoengine: a real server when ``MONGODB_URI`` is set, else mongomock.

mongomock lives in this process, has no indexes and is not safe for concurrent compound
writes, so in the embedded default every collection operation is serialized by one
process-wide lock. Nothing here depends on mongomock's behaviour beyond that.
"""

from __future__ import annotations

import functools
import threading

import mongoengine

EMBEDDED_DB = "fanhub"
_lock = threading.RLock()
_patched = False
_writes = 0  # embedded writes so far: the snapshots (app/snapshots.py) write when it moved

# Collection methods that read or write documents; cursors are materialized under the lock.
_LOCKED = (
    "insert_one", "insert_many", "update_one", "update_many", "replace_one",
    "delete_one", "delete_many", "find_one", "find_one_and_update",
    "find_one_and_delete", "find_one_and_replace", "count_documents", "aggregate",
    "bulk_write", "distinct", "create_index", "drop",
)
_READS = {"find_one", "count_documents", "aggregate", "distinct"}


def _serialize_mongomock() -> None:
    global _patched
    if _patched:
        return
    # imported here: only the embedded store (no MONGODB_URI) runs on mongomock
    from mongomock.collection import Collection, Cursor

    def locked(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            with _lock:
                return method(*args, **kwargs)

        return wrapper

    def counted(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            global _writes
            with _lock:
                _writes += 1
                return method(*args, **kwargs)

        return wrapper

    for name in _LOCKED:
        if hasattr(Collection, name):
            wrap = locked if name in _READS else counted
            setattr(Collection, name, wrap(getattr(Collection, name)))
    Cursor.__next__ = locked(Cursor.__next__)
    _patched = True


def connect(uri: str | None, timeout_ms: int = 3000, socket_timeout_ms: int = 20000) -> str:
    """Connect the default mongoengine alias; returns the backend's name.

    With a real server, a server that is down fails an operation within ``timeout_ms``
    (pymongo waits 30 s by default, longer than a client waits for an answer), so requests
    answer 503 ``database_unavailable`` at once and recover when it is back.
    """
    mongoengine.disconnect_all()
    if uri:
        mongoengine.connect(host=uri, uuidRepresentation="standard", tz_aware=True,
                            serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                            socketTimeoutMS=socket_timeout_ms)
        return "mongodb"
    import mongomock  # imported here: only the embedded store runs on it

    _serialize_mongomock()
    mongoengine.connect(
        EMBEDDED_DB, host="mongodb://localhost", mongo_client_class=mongomock.MongoClient,
        tz_aware=True,
    )
    return "mongomock"


def lock() -> threading.RLock:
    """The embedded store's lock: held, no collection operation runs (mongomock only)."""
    return _lock


def writes() -> int:
    """How many embedded writes have run (a write in progress counts)."""
    return _writes


def ping() -> None:
    mongoengine.get_db().command("ping")


def drop_all() -> None:
    """Empty the database (tests)."""
    db = mongoengine.get_db()
    for name in db.list_collection_names():
        db[name].delete_many({})
