"""Job logs: monotonic ids, offset paging, level filter, isolation, cleanup with the job."""

from __future__ import annotations

import asyncio

import grpc
import pymongo
import pytest

from backend_proto.v1 import store_pb2
from tests.store.conftest import openeo_error, user

LEVELS = ["debug", "info", "warning", "error"]


def entry(level: str, message: str, **fields) -> store_pb2.LogEntry:
    return store_pb2.LogEntry(level=level, message=message, **fields)


async def read_all(store, owner, job_id, *, level="", limit=0) -> tuple[list[store_pb2.LogEntry], int]:
    entries, offset, pages = [], "", 0
    while True:
        reply = await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(
            user=owner, job_id=job_id, offset=offset, level=level, limit=limit))
        pages += 1
        entries.extend(reply.logs)
        if not reply.next_offset:
            return entries, pages
        assert reply.next_offset == reply.logs[-1].id
        offset = reply.next_offset


async def test_appended_logs_get_monotonic_ids_and_page_by_offset(store):
    alice = user()
    job = await store.create_job(alice)
    messages = [f"m{i}" for i in range(10)]
    await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(
        job_id=job.id, entries=[entry(LEVELS[i % 4], m) for i, m in enumerate(messages[:6])]))
    await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(
        job_id=job.id, entries=[entry(LEVELS[(i + 6) % 4], m) for i, m in enumerate(messages[6:])]))
    entries, pages = await read_all(store, alice, job.id, limit=4)
    assert [e.message for e in entries] == messages
    assert pages == 3
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == 10
    assert all(e.time.endswith("Z") for e in entries)
    # offset = an id: only the entries after it
    after = await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(user=alice, job_id=job.id, offset=ids[7]))
    assert [e.message for e in after.logs] == messages[8:] and after.next_offset == ""


async def test_level_filter_keeps_that_level_and_more_severe(store):
    alice = user()
    job = await store.create_job(alice)
    await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(
        job_id=job.id, entries=[entry(level, f"{level} {i}") for i in range(3) for level in LEVELS]))
    for minimum, expected in [("debug", 12), ("info", 9), ("warning", 6), ("error", 3), ("", 12)]:
        entries, _ = await read_all(store, alice, job.id, level=minimum, limit=2)
        assert len(entries) == expected, minimum
        if minimum:
            assert {e.level for e in entries} == set(LEVELS[LEVELS.index(minimum):])


async def test_log_entry_fields_round_trip(store):
    alice = user()
    job = await store.create_job(alice)
    await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[
        entry("warning", "no data", time="2026-01-02T03:04:05Z", data_json='{"bands": ["B04"]}', node_id="load1",
              code="NoDataAvailable"),
    ]))
    (got,) = (await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(user=alice, job_id=job.id))).logs
    assert (got.level, got.message, got.time, got.data_json, got.node_id, got.code) == (
        "warning", "no data", "2026-01-02T03:04:05Z", '{"bands": ["B04"]}', "load1", "NoDataAvailable")


async def test_concurrent_appends_never_share_an_id(store):
    alice = user()
    job = await store.create_job(alice)
    await asyncio.gather(*(
        store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(
            job_id=job.id, entries=[entry("info", f"w{w}-{i}") for i in range(5)]))
        for w in range(6)
    ))
    entries, _ = await read_all(store, alice, job.id)
    assert len(entries) == 30 and len({e.id for e in entries}) == 30
    for w in range(6):  # each batch keeps its own order
        own = [e.message for e in entries if e.message.startswith(f"w{w}-")]
        assert own == [f"w{w}-{i}" for i in range(5)]


async def test_bad_log_input_is_refused_and_stores_nothing(store):
    alice = user()
    job = await store.create_job(alice)
    for bad in (entry("loud", "x"), entry("info", "x", time="yesterday"), entry("info", "x", data_json="{oops")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", "ok"), bad]))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(user=alice, job_id=job.id))).logs == []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(user=alice, job_id=job.id, offset="abc"))
    assert openeo_error(err.value) == ("OffsetInvalid", 400)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(job_id="j-missing", entries=[entry("info", "x")]))
    assert openeo_error(err.value) == ("JobNotFound", 404)


async def test_deleting_a_job_removes_its_logs(store, mongo):
    alice = user()
    job = await store.create_job(alice)
    kept = await store.create_job(alice)
    for target in (job, kept):
        await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(job_id=target.id, entries=[entry("info", "x")] * 3))
    await store.stub.DeleteJob(store_pb2.JobRef(user=alice, job_id=job.id))
    client = pymongo.MongoClient(mongo.uri)
    try:
        logs = client[store.config.mongodb_db]["job_logs"]
        assert logs.count_documents({"job_id": job.id}) == 0
        assert logs.count_documents({"job_id": kept.id}) == 3
    finally:
        client.close()


async def test_an_append_retried_with_its_append_id_is_stored_once(store):
    alice = user()
    job = await store.create_job(alice)
    first = store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", "a"), entry("warning", "b")],
                                           append_id="k-1")
    await store.stub.AppendJobLogs(first)
    await store.stub.AppendJobLogs(first)  # the retry after a lost reply
    await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", "c")],
                                                                  append_id="k-2"))
    await store.stub.AppendJobLogs(store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", "c")]))
    entries, _ = await read_all(store, alice, job.id)
    assert [e.message for e in entries] == ["a", "b", "c", "c"]
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == 4
    # the retry reserved no ids: the next entries follow without a gap
    assert [int(i) for i in ids] == list(range(int(ids[0]), int(ids[0]) + 4))


async def test_concurrent_attempts_of_one_append_store_it_once(store):
    alice = user()
    job = await store.create_job(alice)
    request = store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", f"m{i}") for i in range(5)],
                                             append_id="racing")
    await asyncio.gather(*(store.stub.AppendJobLogs(request) for _ in range(4)))
    entries, _ = await read_all(store, alice, job.id)
    assert [e.message for e in entries] == [f"m{i}" for i in range(5)]


async def test_an_append_that_was_partly_stored_is_completed_by_its_retry(store, mongo):
    alice = user()
    job = await store.create_job(alice)
    request = store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", f"m{i}") for i in range(3)],
                                             append_id="partial")
    await store.stub.AppendJobLogs(request)
    # as if the first attempt had stored only its first entry
    client = pymongo.MongoClient(mongo.uri)
    try:
        logs = client[store.config.mongodb_db]["job_logs"]
        assert logs.delete_many({"_id": {"$in": [f"{job.id}:a:partial:1", f"{job.id}:a:partial:2"]}}).deleted_count == 2
    finally:
        client.close()
    await store.stub.AppendJobLogs(request)
    entries, _ = await read_all(store, alice, job.id)
    assert sorted(e.message for e in entries) == ["m0", "m1", "m2"]


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "a:b", "ä"])
async def test_bad_append_ids_are_refused(store, bad):
    alice = user()
    job = await store.create_job(alice)
    request = store_pb2.AppendJobLogsRequest(job_id=job.id, entries=[entry("info", "x")], append_id=bad)
    if bad == "":
        await store.stub.AppendJobLogs(request)  # no key: a plain append
        return
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.AppendJobLogs(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(user=alice, job_id=job.id))).logs == []
