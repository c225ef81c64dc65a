"""devstack.mongo: the handle on the MongoDB-compatible server."""

from __future__ import annotations

import pymongo
import pytest

from devstack import mongo as mongo_module
from devstack.mongo import start_mongodb


def test_external_uri_is_used_instead_of_starting_a_server(mongo, monkeypatch):
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    started = []
    monkeypatch.setattr(mongo_module.subprocess, "Popen", lambda *a, **k: started.append(a))
    handle = start_mongodb()
    assert handle.uri == mongo.uri and handle.is_external and started == []
    handle.stop()  # no-op: we do not own it
    assert mongo_module.ping(mongo.uri)
    with pytest.raises(RuntimeError):
        handle.restart()


def test_started_server_answers_and_stops(monkeypatch, tmp_path):
    monkeypatch.delenv("MONGODB_URI", raising=False)
    handle = start_mongodb(data_dir=tmp_path / "db")
    try:
        assert handle.running and handle.uri.startswith(f"mongodb://127.0.0.1:{handle.port}/")
        client = pymongo.MongoClient(handle.uri, serverSelectionTimeoutMS=2000)
        client.t.c.insert_one({"_id": 1})
        client.close()
        handle.restart()
        client = pymongo.MongoClient(handle.uri, serverSelectionTimeoutMS=2000)
        assert client.t.c.find_one({"_id": 1}) == {"_id": 1}
        client.close()
    finally:
        handle.stop()
    assert not handle.running
    assert not mongo_module.ping(handle.uri, timeout_seconds=0.3)
