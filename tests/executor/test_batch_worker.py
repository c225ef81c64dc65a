"""Batch worker: claim → compile → run → S3 outputs → CompleteJob; cancel, lease loss, failures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import rasterio

from backend_common.errors import OpenEOError
from executor_svc.batch import BatchWorker, WorkerSettings
from executor_svc.runner import PlanRunner
from executor_svc.storage.s3 import S3Storage

from .fakes import NDVI_GRAPH, DATES, FakeCompiler, FakeSentinelHub, FakeStore, make_job, ndvi_plan, owner_token, synthetic_band


@pytest.fixture
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


def worker_for(store, compiler, sh, storage, pool, tmp_path, **settings):
    base = dict(worker_id="w-test", work_dir=str(tmp_path), lease_seconds=5, renew_seconds=0.05, poll_seconds=0.05,
                io_retries=2, retry_base_delay=0.01)
    base.update(settings)
    return BatchWorker(WorkerSettings(**base), store, compiler, PlanRunner(sh, pool), storage, pool)


async def test_job_runs_to_finished_with_outputs_in_s3(storage, pool, tmp_path):
    job = make_job("job-ok")
    store = FakeStore([job])
    compiler = FakeCompiler(ndvi_plan())
    sh = FakeSentinelHub(delay=0.2)  # long enough for a few lease renewals
    await storage.put_bytes("jobs/job-ok/stale-from-earlier-attempt.tif", b"old")
    worker = worker_for(store, compiler, sh, storage, pool, tmp_path)

    assert await worker.claim_and_run() is True
    assert [c.status for c in store.completed] == ["finished"]
    done = store.completed[0]
    assert done.lease_token == "lease-job-ok-1"
    # compile call: batch purpose, the job's process, the owner's id without the token
    request = compiler.requests[0]
    assert request.purpose == 2 and request.user.user_id == "basic:alice" and not request.user.sh_access_token
    # Sentinel Hub is called with the owner's own token (their account pays)
    assert [token for _, token in sh.requests] == [owner_token("basic:alice")]
    results = done.results
    data_assets = {a.name: a for a in results.assets if "data" in a.roles}
    assert sorted(data_assets) == ["openEO_2024-05-03T100000Z.tif", "openEO_2024-05-13T100000Z.tif"]
    keys = sorted(await storage.list_keys("jobs/job-ok/"))
    # the assets, plus the completion manifest written after them (never an asset)
    assert keys == sorted([a.key for a in results.assets] + ["jobs/job-ok/_completion-manifest.json"])
    assert "jobs/job-ok/stale-from-earlier-attempt.tif" not in keys
    asset = data_assets["openEO_2024-05-13T100000Z.tif"]
    assert asset.media_type.startswith("image/tiff") and asset.datetime == DATES[1]
    assert asset.projection.epsg == 32633 and list(asset.projection.shape) == [48, 64]
    assert len(asset.bands) == 1 and asset.bands[0].data_type == "float32" and asset.bands[0].statistics.valid_percent > 0
    blob = await storage.get_bytes(asset.key)
    assert len(blob) == asset.size
    with rasterio.MemoryFile(blob) as mem, mem.open() as ds:
        ndvi = ds.read(1)
        assert ds.crs.to_epsg() == 32633 and ds.transform.c == 500000 and ds.transform.f == 5200000
    red, nir = synthetic_band("B04", 1, 48, 64), synthetic_band("B08", 1, 48, 64)
    expected = (nir - red) / (nir + red)
    assert np.isnan(ndvi[0, 0])
    np.testing.assert_allclose(ndvi[1:, 1:], expected[1:, 1:], rtol=1e-6)
    # extent in WGS84, datetimes, metadata file
    w, s, e, n = results.bbox
    assert 14.9 < w < e < 15.1 and 46.9 < s < n < 47.0
    assert results.start_datetime == DATES[0] and results.end_datetime == DATES[1]
    (record,) = [a for a in results.assets if a.name == "job-results.json"]
    assert list(record.roles) == ["metadata"] and record.media_type == "application/json"
    stac = json.loads(await storage.get_bytes(record.key))
    assert record.size == len(json.dumps(stac, indent=1).encode())
    assert stac["type"] == "Feature" and stac["id"] == "job-ok" and len(stac["assets"]) == 2
    assert stac["assets"][asset.name]["href"] == asset.key and stac["assets"][asset.name]["proj:code"] == "EPSG:32633"
    assert stac["properties"]["start_datetime"] == DATES[0] and stac["properties"]["openeo:status"] == "finished"
    assert json.loads(done.usage_json)["sentinelhub"]["value"] == 1.5 and done.costs == 1.5
    usage = json.loads(done.usage_json)
    assert usage["duration"]["unit"] == "seconds" and usage["duration"]["value"] > 0
    # the run evaluated, encoded and wrote a COG alone in this process: some CPU, at most its
    # wall time on every core
    assert usage["cpu"]["unit"] == "cpu-seconds"
    assert 0 < usage["cpu"]["value"] <= usage["duration"]["value"] * (os.cpu_count() or 1) + 0.01
    # heartbeat renewed with progress and logs were written
    assert store.renewals and all(r.lease_token == "lease-job-ok-1" for r in store.renewals)
    messages = [entry.message for entry in store.logs]
    assert messages[0].startswith("Job started") and messages[-1].startswith("Job finished")
    assert any("Removed 1 object" in m for m in messages)


async def test_cancel_is_honoured(storage, pool, tmp_path):
    job = make_job("job-cancel")
    store = FakeStore([job], cancel_after_renewals=2)
    sh = FakeSentinelHub(delay=30)
    worker = worker_for(store, FakeCompiler(ndvi_plan()), sh, storage, pool, tmp_path)
    status = await asyncio.wait_for(worker.claim_and_run(), timeout=10)
    assert status is True
    assert [c.status for c in store.completed] == ["canceled"]
    assert await storage.list_keys("jobs/job-cancel/") == []


async def test_lost_lease_stops_without_writing(storage, pool, tmp_path):
    store = FakeStore([make_job("job-lost")], lose_lease=True)
    worker = worker_for(store, FakeCompiler(ndvi_plan()), FakeSentinelHub(delay=30), storage, pool, tmp_path)
    await asyncio.wait_for(worker.claim_and_run(), timeout=10)
    assert store.completed == []


async def test_invalid_graph_ends_in_error_with_openeo_error(storage, pool, tmp_path):
    store = FakeStore([make_job("job-bad")])
    compiler = FakeCompiler(error=OpenEOError("ProcessUnsupported", "Process 'foo' is not supported.", 400))
    worker = worker_for(store, compiler, FakeSentinelHub(), storage, pool, tmp_path)
    await worker.claim_and_run()
    done = store.completed[0]
    assert done.status == "error"
    assert json.loads(done.error_json) == {"code": "ProcessUnsupported", "message": "Process 'foo' is not supported."}
    assert store.logs[-1].level == "error" and store.logs[-1].code == "ProcessUnsupported"


async def test_s3_down_beyond_the_window_gives_the_job_back_without_internals(s3_config, pool, tmp_path):
    dead = dataclasses.replace(s3_config, endpoint_url="http://127.0.0.1:9")
    store = FakeStore([make_job("job-s3")])
    async with S3Storage(dead) as storage:
        worker = worker_for(store, FakeCompiler(ndvi_plan()), FakeSentinelHub(), storage, pool, tmp_path,
                            outage_seconds=0.3)
        await asyncio.wait_for(worker.claim_and_run(), timeout=60)
    # not `error` while attempts remain: released for another attempt (the store decides)
    assert store.completed == []
    (released,) = store.released
    assert released.lease_token == "lease-job-s3-1"
    error = json.loads(released.error_json)
    assert error["code"] == "ServiceUnavailable" and "restart the job later" in error["message"]
    shown = [error["message"]] + [entry.message for entry in store.logs]
    for text in shown:  # neither the endpoint, nor the bucket, nor object keys
        assert "127.0.0.1" not in text and s3_config.bucket not in text and "jobs/" not in text, text
    assert any("will be retried" in entry.message for entry in store.logs)


async def test_worker_loop_drains_queue_and_stops(storage, pool, tmp_path):
    store = FakeStore([make_job("job-a"), make_job("job-b")])
    worker = worker_for(store, FakeCompiler(ndvi_plan(fmt="netCDF")), FakeSentinelHub(), storage, pool, tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(200):
        if len(store.completed) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [c.status for c in store.completed] == ["finished", "finished"]
    assets = {a.name: a for a in store.completed[1].results.assets}
    assert assets["openEO.nc"].media_type == "application/x-netcdf"


async def test_large_job_runs_once_on_the_dask_engine_into_one_file_per_date(storage, pool, tmp_path):
    """A job above the engine's threshold is one chunked run (no spatial parts): its load is
    fetched tile by tile, processed in chunks, and each date is one GeoTIFF of the whole area."""
    from executor_svc.dask_engine import DaskEngine, DaskSettings

    store = FakeStore([make_job("job-big")])
    sh = FakeSentinelHub(tile_px=300)
    engine = DaskEngine(DaskSettings(threads=2, chunk_px=128, min_values=1), str(tmp_path / "dask"))
    engine.start()
    settings = WorkerSettings(worker_id="w-test", work_dir=str(tmp_path), lease_seconds=5, renew_seconds=0.05,
                              poll_seconds=0.05, io_retries=2, retry_base_delay=0.01)
    worker = BatchWorker(settings, store, FakeCompiler(ndvi_plan(width=600, height=300)),
                         PlanRunner(sh, pool, engine=engine), storage, pool)
    await worker.claim_and_run()
    assert [c.status for c in store.completed] == ["finished"]
    assert [r[0]["output"]["width"] for r in sh.requests] == [300, 300]  # the client's tiles
    assets = {a.name: a for a in store.completed[0].results.assets}
    data = sorted(name for name, a in assets.items() if "data" in a.roles)
    assert data == [f"openEO_{d}.tif" for d in ("2024-05-03T100000Z", "2024-05-13T100000Z")]
    whole = assets["openEO_2024-05-03T100000Z.tif"].projection
    assert list(whole.shape) == [300, 600]
    assert whole.bbox[0] == pytest.approx(500000) and whole.bbox[2] == pytest.approx(500640)
    assert json.loads(store.completed[0].usage_json)["sentinelhub"]["value"] == pytest.approx(3.0)


class LostReplyStore(FakeStore):
    """Stores each append, then loses the reply of every first attempt (DEADLINE_EXCEEDED); keeps
    appends by `append_id` the way the real store does."""

    def __init__(self, jobs):
        super().__init__(jobs)
        self.attempts = []
        self.keys_seen = set()

    async def AppendJobLogs(self, request):
        import grpc

        self.attempts.append(request.append_id)
        if request.append_id not in self.keys_seen:
            self.keys_seen.add(request.append_id)
            await super().AppendJobLogs(request)
            raise grpc.aio.AioRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                       details="reply lost")
        from backend_proto.v1 import common_pb2

        return common_pb2.Empty()


async def test_a_retried_log_append_keeps_its_key_so_the_line_is_stored_once(storage, pool, tmp_path):
    store = LostReplyStore([make_job("job-logs")])
    worker = worker_for(store, FakeCompiler(ndvi_plan()), FakeSentinelHub(), storage, pool, tmp_path)
    assert await worker.claim_and_run() is True
    assert [c.status for c in store.completed] == ["finished"]
    messages = [entry.message for entry in store.logs]
    assert len(messages) == len(set(messages)) >= 2
    # every append (a batch of buffered lines) was tried twice, both times with the same
    # non-empty key; keys differ per batch
    assert len(store.attempts) == 2 * len(store.keys_seen) and store.keys_seen
    assert all(store.attempts.count(key) == 2 and key for key in store.keys_seen)
