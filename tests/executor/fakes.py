"""Test doubles: a Sentinel Hub client producing synthetic packed rasters, a store queue and a
compiler (duck-typed like the gRPC stubs)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from compiler_svc.output_formats import output_format
from compiler_svc.planning.execution_order import executor_graph, needed_order
from backend_proto.v1 import common_pb2, compiler_pb2, store_pb2

DATES = ["2024-05-03T10:00:00Z", "2024-05-13T10:00:00Z"]


def synthetic_band(band: str, date_index: int, h: int, w: int) -> np.ndarray:
    rows, cols = np.mgrid[0:h, 0:w]
    base = {"B04": 0.1, "B08": 0.5}.get(band, 0.3)
    noise = np.modf(np.abs(np.sin(rows * 12.9898 + cols * 78.233 + date_index) * 43758.5453))[0]  # incompressible
    return (base + 0.0001 * rows + 0.00005 * cols + 0.05 * date_index + 0.01 * noise).astype(np.float32)


@dataclass
class FakeRaster:
    data: np.ndarray
    userdata: object
    processing_units: float
    nodata: float | None = None
    tiles: int = 1


class FakeSentinelHub:
    """Answers every request with synthetic bands at 1.5 PU; with `tile_px`, a wider request is
    sent as columns of at most `tile_px` px, each a request of its own (recorded with its width)
    and each first let through by the run's `spending`, as the real client's tiles are."""

    def __init__(self, delay: float = 0.0, tile_px: int = 0):
        self.config = SimpleNamespace(deployment=SimpleNamespace(base_url="http://sh.invalid", token_url="http://sh.invalid/t"))
        self.delay = delay
        self.tile_px = tile_px
        self.requests: list[tuple[dict, str | None]] = []

    async def process_raster(self, request, *, token=None, deployment=None, output_id="default", sink=None,
                             spending=None):
        h, w = request["output"]["height"], request["output"]["width"]
        step = self.tile_px or w
        for x0 in range(0, w, step):
            if spending is not None:
                await spending.before_request()
            sub = json.loads(json.dumps(request))
            sub["output"]["width"] = min(w, x0 + step) - x0
            self.requests.append((sub if self.tile_px else request, token))
            if self.delay:
                await asyncio.sleep(self.delay)
            if spending is not None:
                spending.spent_on(1.5)
        bands = ["B04", "B08"]
        data = np.stack([synthetic_band(b, d, h, w) for d in range(len(DATES)) for b in bands])
        data[:, 0, 0] = np.nan
        return FakeRaster(data, {"dates": DATES, "bands": bands}, processing_units=1.5 * len(range(0, w, step)))


NDVI_GRAPH = {
    "load1": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A"}},
    "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load1"}, "nir": "B08", "red": "B04"}},
    "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"}, "result": True},
}


def ndvi_plan(*, fmt="GTiff", options=None, width=64, height=48, bbox=None, sh_type="sentinel-2-l2a", graph=None):
    bbox = bbox or compiler_pb2.BoundingBox(west=500000, south=5199520, east=500640, north=5200000, epsg=32633)
    load = compiler_pb2.SentinelHubLoad(
        node_id="load1",
        collection_id="SENTINEL2_L2A",
        sh_type=sh_type,
        bbox=bbox,
        width=width,
        height=height,
        time_from="2024-05-01T00:00:00Z",
        time_to="2024-05-31T23:59:59Z",
        mosaicking="ORBIT",
        evalscript=EVALSCRIPT,
        band_labels=["B04", "B08"],
        temporal=True,
        result_node_id="load1",
    )
    return plan_for_graph(graph or NDVI_GRAPH, "save", [load], output_format(fmt, options or {}))


def plan_for_graph(graph: dict, result: str, loads: list, output) -> compiler_pb2.ExecutionPlan:
    """A hand-made plan whose graph part is prepared as the compiler prepares it (the nodes the
    result needs that the loads do not seed, in evaluation order)."""
    order = needed_order(graph, result, {load.result_node_id or load.node_id for load in loads})
    return compiler_pb2.ExecutionPlan(loads=loads, graph_json=json.dumps(executor_graph(graph, order)),
                                      node_order=order, result_node_id=result, output=output,
                                      strategy=compiler_pb2.RESULT_STRATEGY_CUBE)


EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B04", "B08", "dataMask"]}],
    output: {id: "default", bands: 2, sampleType: "FLOAT32"},
    mosaicking: "ORBIT"
  };
}
var dates = [];
function updateOutput(outputs, collection) {
  outputs.default.bands = collection.scenes.length * 2;
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {dates: scenes.map(function (s) { return s.date.toISOString().slice(0, 19) + "Z"; }), bands: ["B04", "B08"]};
}
function evaluatePixel(samples) {
  var out = [];
  for (var i = 0; i < samples.length; i++) {
    var s = samples[i];
    if (s.dataMask === 0) { out.push(NaN, NaN); } else { out.push(s.B04, s.B08); }
  }
  return out;
}
"""


class FakeCompiler:
    def __init__(self, plan=None, error=None):
        self.plan = plan
        self.error = error
        self.requests = []

    async def Compile(self, request):
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return self.plan


def owner_token(user_id: str) -> str:
    """The (opaque) Sentinel Hub token FakeStore hands out with a basic user's job."""
    return "sh-token-of-" + user_id


class FakeStore:
    """Claims hand out the job's owner: `owners[job id]`, else a basic-login user with the
    opaque token `owner_token(user_id)` (as store_svc stores it when the job is started)."""

    def __init__(self, jobs=(), *, cancel_after_renewals: int | None = None, lose_lease: bool = False,
                 owners: dict | None = None, run_ids: dict | None = None):
        self.queue = list(jobs)
        self.owners = owners or {}
        self.run_ids = run_ids or {}
        self.released: list = []
        self.cancel_after_renewals = cancel_after_renewals
        self.lose_lease = lose_lease
        self.renewals: list = []
        self.completed: list = []
        self.logs: list = []
        self.jobs = {j.id: j for j in jobs}

    async def ClaimJob(self, request):
        if not self.queue:
            return store_pb2.ClaimJobResponse()
        job = self.queue.pop(0)
        job.status = "running"
        job.attempts += 1
        owner = self.owners.get(job.id) or common_pb2.User(user_id=job.user_id, auth_method="basic",
                                                            sh_access_token=owner_token(job.user_id))
        return store_pb2.ClaimJobResponse(job=job, lease_token=f"lease-{job.id}-{job.attempts}", owner=owner,
                                          run_id=self.run_ids.get(job.id, "run-" + job.id))

    async def RenewLease(self, request):
        self.renewals.append(request)
        cancel = self.cancel_after_renewals is not None and len(self.renewals) >= self.cancel_after_renewals
        return store_pb2.RenewLeaseResponse(lease_held=not self.lose_lease, cancel_requested=cancel)

    async def CompleteJob(self, request):
        self.completed.append(request)
        job = self.jobs[request.job_id]
        job.status = request.status
        job.results.CopyFrom(request.results)
        job.error_json = request.error_json
        return job

    async def ReleaseJob(self, request):
        self.released.append(request)
        job = self.jobs[request.job_id]
        job.status = "queued"
        return job

    async def AppendJobLogs(self, request):
        self.logs.extend(request.entries)
        return common_pb2.Empty()

    async def GetJob(self, request):
        job = self.jobs.get(request.job_id)
        if job is None or job.user_id != request.user.user_id:
            from backend_common.errors import OpenEOError

            raise OpenEOError("JobNotFound", "The batch job does not exist.", 404)
        return job


def make_job(job_id="j-1", user_id="basic:alice", process=None):
    return store_pb2.Job(
        id=job_id,
        user_id=user_id,
        title="NDVI",
        process_json=json.dumps(process or {"process_graph": NDVI_GRAPH}),
        status="queued",
        created="2024-06-01T00:00:00Z",
    )
