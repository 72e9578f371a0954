"""The mongoeco launcher: a real wire server process that pymongo talks to, stopped on request,
and whose SQLite engine keeps the data across a restart."""

from __future__ import annotations

import pymongo
import pytest

from tests.servers.mongoeco import MongoecoServer


def test_serves_pymongo_with_unique_indexes_and_stops(tmp_path):
    server = MongoecoServer(log=tmp_path / "mongoeco.log").start()
    try:
        client = pymongo.MongoClient(server.uri(), serverSelectionTimeoutMS=2000)
        things = client.get_default_database().things
        things.create_index("name", unique=True)
        things.insert_one({"name": "a"})
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            things.insert_one({"name": "a"})
        assert [d["name"] for d in things.find({}, {"_id": 0})] == ["a"]
        client.close()
    finally:
        process = server.process
        server.stop()
    assert process.returncode == 0  # SIGTERM closes it cleanly
    assert not server.ready()


def test_sqlite_engine_keeps_data_across_a_restart(tmp_path):
    path = tmp_path / "store.db"
    with MongoecoServer(sqlite=path) as server:
        client = pymongo.MongoClient(server.uri(), serverSelectionTimeoutMS=2000)
        client.get_default_database().things.insert_one({"name": "kept"})
        client.close()
    with MongoecoServer(sqlite=path) as server:
        client = pymongo.MongoClient(server.uri(), serverSelectionTimeoutMS=2000)
        assert client.get_default_database().things.find_one({}, {"_id": 0}) == {"name": "kept"}
        client.close()
