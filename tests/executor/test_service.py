"""ExecutorService over real gRPC (in-process server with the standard interceptor): Execute
streaming, error mapping, ReadJobAsset, DeleteJobResults."""

from __future__ import annotations

import io
import json
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
import rasterio

from backend_common.errors import from_rpc_error
from backend_common.grpc_server import RequestContextInterceptor
from backend_proto.v1 import common_pb2, executor_pb2, executor_pb2_grpc
from executor_svc.runner import PlanRunner
from executor_svc.servicer import ExecutorServicer

from .fakes import FakeSentinelHub, FakeStore, make_job, ndvi_plan, synthetic_band


@pytest.fixture
async def executor(storage, tmp_path):
    pool = ThreadPoolExecutor(4)
    sh = FakeSentinelHub()
    job = make_job("job-done")
    job.status = "finished"
    job.results.assets.add(name="a.tif", key="jobs/job-done/a.tif", media_type="image/tiff", roles=["data"])
    job.results.assets.add(name="evil", key="jobs/other/x.tif", media_type="image/tiff", roles=["data"])
    store = FakeStore([job])
    servicer = ExecutorServicer(PlanRunner(sh, pool), storage, store, pool, str(tmp_path))
    server = grpc.aio.server(interceptors=[RequestContextInterceptor()])
    executor_pb2_grpc.add_ExecutorServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield executor_pb2_grpc.ExecutorServiceStub(channel), sh, storage
    await channel.close()
    await server.stop(0)
    pool.shutdown()


async def collect(call):
    return [chunk async for chunk in call]


def user(token=""):
    return common_pb2.User(user_id="basic:alice", sh_access_token=token)


async def test_execute_streams_gtiff_chunks(executor):
    stub, sh, _ = executor
    graph = {
        "load1": {"process_id": "load_collection", "arguments": {}},
        "red": {"process_id": "filter_temporal", "arguments": {"data": {"from_node": "load1"}, "extent": ["2024-05-10", "2024-05-20"]}},
        "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "red"}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"}, "result": True},
    }
    plan = ndvi_plan(graph=graph, width=1200, height=900)
    chunks = await collect(stub.Execute(executor_pb2.ExecuteRequest(user=user("user-token"), plan=plan)))
    assert sh.requests[0][1] == "user-token"
    assert chunks[0].content_type.startswith("image/tiff") and chunks[0].filename == "openEO.tif"
    assert chunks[0].processing_units == 1.5
    assert len(chunks) > 1 and all(len(c.data) <= 1024 * 1024 for c in chunks)
    assert all(not c.filename for c in chunks[1:])
    blob = b"".join(c.data for c in chunks)
    assert len(blob) == chunks[0].total_size
    with rasterio.MemoryFile(blob) as mem, mem.open() as ds:
        assert (ds.width, ds.height, ds.count) == (1200, 900)[:2] + (1,)
        ndvi = ds.read(1)
    red, nir = synthetic_band("B04", 1, 900, 1200), synthetic_band("B08", 1, 900, 1200)
    np.testing.assert_allclose(ndvi[5, 7], ((nir - red) / (nir + red))[5, 7], rtol=1e-6)


async def test_execute_zip_for_several_dates_and_png_error(executor):
    stub, _, _ = executor
    chunks = await collect(stub.Execute(executor_pb2.ExecuteRequest(user=user(), plan=ndvi_plan())))
    assert chunks[0].content_type == "application/zip" and chunks[0].filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(b"".join(c.data for c in chunks))) as archive:
        assert len(archive.namelist()) == 2
    graph = dict(json.loads(ndvi_plan().graph_json))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await collect(stub.Execute(executor_pb2.ExecuteRequest(
            user=user(), plan=ndvi_plan(fmt="PNG", graph={**graph, "ndvi": {"process_id": "add", "arguments": {"x": {"from_node": "load1"}, "y": 1}}}))))
    error = from_rpc_error(info.value)
    assert error.code == "FormatUnsuitable" and error.status == 400


async def test_read_job_asset_and_delete(executor):
    stub, _, storage = executor
    payload = bytes(range(256)) * 9000  # > 2 MiB: several chunks
    await storage.put_bytes("jobs/job-done/a.tif", payload, "image/tiff")
    chunks = await collect(stub.ReadJobAsset(executor_pb2.JobAssetRef(user=user(), job_id="job-done", asset="a.tif")))
    assert b"".join(c.data for c in chunks) == payload
    assert chunks[0].content_type == "image/tiff" and chunks[0].filename == "a.tif" and chunks[0].total_size == len(payload)
    assert max(len(c.data) for c in chunks) <= 1024 * 1024

    for ref, code in [
        (executor_pb2.JobAssetRef(user=user(), job_id="job-done", asset="missing.tif"), "AssetNotFound"),
        (executor_pb2.JobAssetRef(user=user(), job_id="job-done", asset="evil"), "AssetNotFound"),
        (executor_pb2.JobAssetRef(user=common_pb2.User(user_id="basic:mallory"), job_id="job-done", asset="a.tif"), "JobNotFound"),
        (executor_pb2.JobAssetRef(user=user(), job_id="../x", asset="a.tif"), "JobNotFound"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await collect(stub.ReadJobAsset(ref))
        assert from_rpc_error(info.value).code == code

    await storage.put_bytes("batch-api/job-done/33N_3_49/default.tif", b"tile")  # Batch API deliveries
    await storage.put_bytes("batch-api/job-done-2/33N_3_49/default.tif", b"other job")
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.DeleteJobResults(executor_pb2.JobAssetRef(user=common_pb2.User(user_id="basic:mallory"), job_id="job-done"))
    assert await storage.list_keys("jobs/job-done/") == ["jobs/job-done/a.tif"]
    await stub.DeleteJobResults(executor_pb2.JobAssetRef(user=user(), job_id="job-done"))
    assert await storage.list_keys("jobs/job-done/") == []
    assert await storage.list_keys("batch-api/job-done") == ["batch-api/job-done-2/33N_3_49/default.tif"]


async def test_read_job_asset_ranges_and_metadata(executor):
    stub, _, storage = executor
    payload = os.urandom(2 * 1024 * 1024 + 321)
    await storage.put_bytes("jobs/job-done/a.tif", payload, "image/tiff")
    info = await storage.head("jobs/job-done/a.tif")

    def ref(**kwargs):
        return executor_pb2.JobAssetRef(user=user(), job_id="job-done", asset="a.tif", **kwargs)

    async def read(**kwargs):
        chunks = await collect(stub.ReadJobAsset(ref(**kwargs)))
        first = chunks[0]
        assert first.total_size == len(payload) and first.etag == info.etag and first.filename == "a.tif"
        assert first.last_modified == info.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert all(not c.content_type and not c.etag for c in chunks[1:])
        data = b"".join(c.data for c in chunks)
        assert len(data) == (0 if kwargs.get("metadata_only") else first.range_length)
        return first.range_offset, first.range_length, data, len(chunks)

    whole = await read()
    assert whole[:3] == (0, len(payload), payload)
    assert await read(offset=1000, length=500) == (1000, 500, payload[1000:1500], 1)
    assert await read(offset=len(payload) - 7) == (len(payload) - 7, 7, payload[-7:], 1)
    assert await read(offset=10, length=10**9) == (10, len(payload) - 10, payload[10:], 3)
    assert await read(suffix_length=500) == (len(payload) - 500, 500, payload[-500:], 1)
    assert await read(suffix_length=10**9) == (0, len(payload), payload, 3)  # larger than the file: all of it
    assert await read(offset=len(payload)) == (len(payload), 0, b"", 1)  # past the end: metadata only
    assert await read(offset=5, length=5, metadata_only=True) == (5, 5, b"", 1)
    assert await read(metadata_only=True) == (0, len(payload), b"", 1)


async def test_run_hands_the_value_to_finish_in_the_same_pool_call():
    import threading

    pool = ThreadPoolExecutor(2, thread_name_prefix="cpu")
    runner = PlanRunner(FakeSentinelHub(), pool)
    seen = {}

    def finish(value, fmt, options):
        seen["thread"] = threading.current_thread().name
        seen["args"] = (tuple(value.dims), fmt.format, options)
        return "encoded"

    try:
        outcome = await runner.run(ndvi_plan(fmt="netCDF", options={"filename_prefix": "x"}), user(), finish=finish)
        plain = await runner.run(ndvi_plan(), user())
    finally:
        pool.shutdown()
    assert outcome.finished == "encoded" and plain.finished is None
    assert seen["thread"].startswith("cpu")
    assert seen["args"] == (("t", "y", "x"), "netCDF", {"filename_prefix": "x"})
    assert set(outcome.timings) == {"fetch_ms", "evaluate_ms", "finish_ms"}
