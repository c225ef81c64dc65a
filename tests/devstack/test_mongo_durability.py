"""The local MongoDB-compatible server keeps every acknowledged write through SIGKILL.

Without `--sync-on-commit` this test fails: the server acknowledges a write while its journal
record is still in memory, and a SIGKILL right after loses it (measured by hand: between 11 and
all of 50 inserted-and-updated documents gone in each of 8 runs)."""

from __future__ import annotations

import threading

import pymongo
import pytest

from devstack.mongo import MongoProcess, start_mongodb


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.delenv("MONGODB_URI", raising=False)  # this test needs a server it may kill
    handle = start_mongodb(data_dir=tmp_path / "db")
    yield handle
    handle.stop()


def _client(handle: MongoProcess) -> pymongo.MongoClient:
    return pymongo.MongoClient(handle.uri, serverSelectionTimeoutMS=5000)


def test_acknowledged_writes_survive_sigkill(server):
    writers, per_writer = 4, 30
    acknowledged: list[tuple[int, int]] = []
    lock = threading.Lock()
    client = _client(server)

    def write(worker: int) -> None:
        # inserts and updates, as the store does (a job is created, then its state changes)
        jobs = client.openeo.jobs
        for i in range(per_writer):
            key = f"{worker}-{i}"
            jobs.insert_one({"_id": key, "status": "created", "version": 1})
            jobs.update_one({"_id": key}, {"$set": {"status": "finished"}, "$inc": {"version": 1}})
            with lock:
                acknowledged.append((worker, i))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.kill()  # right after the last acknowledgement, no clean shutdown
    client.close()
    assert server.crashed and not server.running

    server.start()
    client = _client(server)
    try:
        stored = {doc["_id"]: doc for doc in client.openeo.jobs.find()}
    finally:
        client.close()
    assert len(acknowledged) == writers * per_writer
    missing = [f"{w}-{i}" for w, i in acknowledged if f"{w}-{i}" not in stored]
    not_updated = [key for key, doc in stored.items() if (doc["status"], doc["version"]) != ("finished", 2)]
    assert missing == [] and not_updated == []

