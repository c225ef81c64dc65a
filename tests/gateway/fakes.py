"""In-memory fakes of the backend services, served by real grpc.aio servers on free ports.

Each service runs in its own server (with the standard health service and the request-context
interceptor from backend_common), so a single service can be stopped and restarted on its port.
Every servicer records the `x-request-id` metadata of the calls it receives.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from backend_common.errors import OpenEOError
from backend_common.grpc_server import RequestContextInterceptor
from gateway.clients import HEALTH_SERVICES
from backend_proto.v1 import (
    common_pb2,
    compiler_pb2,
    compiler_pb2_grpc,
    executor_pb2,
    executor_pb2_grpc,
    store_pb2,
    store_pb2_grpc,
    tiles_pb2,
    tiles_pb2_grpc,
)

NOW = "2026-11-25T00:00:00Z"
PROCESSES = ["load_collection", "save_result", "ndvi", "reduce_dimension", "mean"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self):
        self.request_ids: list[str] = []
        self.calls: list[tuple[str, object]] = []
        # method name -> exception to raise on the next calls (tests inject failures here)
        self.failures: dict[str, Exception] = {}

    def record(self, context, name: str, request) -> None:
        if name in self.failures:
            raise self.failures[name]
        for key, value in context.invocation_metadata() or ():
            if key == "x-request-id":
                self.request_ids.append(value)
        self.calls.append((name, request))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def _page(items: list, page: common_pb2.Page):
    start = int(page.next_token or 0)
    limit = page.limit or 100
    chunk = items[start : start + limit]
    nxt = str(start + limit) if start + limit < len(items) else ""
    return chunk, nxt


# ---------------------------------------------------------------- store


class FakeStore(store_pb2_grpc.StoreServiceServicer, Recorder):
    def __init__(self):
        Recorder.__init__(self)
        self.jobs: dict[str, store_pb2.Job] = {}
        self.logs: dict[str, list[store_pb2.LogEntry]] = {}
        self.services: dict[str, store_pb2.Service] = {}
        self.udps: dict[tuple[str, str], store_pb2.ProcessGraph] = {}
        self._ids = itertools.count(1)
        # quotas: the next admission's answer (None: admitted), slots held, spending per user
        self.refusal: store_pb2.SyncAdmission | None = None
        self.slots_held: set[str] = set()
        self.spent: dict[str, float] = {}
        self.active_jobs = 0

    def _job(self, ref: store_pb2.JobRef) -> store_pb2.Job:
        job = self.jobs.get(ref.job_id)
        if job is None or job.user_id != ref.user.user_id:
            raise OpenEOError("JobNotFound", f"The batch job '{ref.job_id}' does not exist.", 404)
        return job

    async def CreateJob(self, request, context):
        self.record(context, "CreateJob", request)
        job = store_pb2.Job(
            id=f"j-{next(self._ids)}", user_id=request.user.user_id, title=request.title,
            description=request.description, process_json=request.process_json, status="created",
            created=NOW, updated=NOW, plan=request.plan, budget=request.budget, log_level=request.log_level,
            job_options_json=request.job_options_json, version=1,
        )
        self.jobs[job.id] = job
        return job

    async def GetJob(self, request, context):
        self.record(context, "GetJob", request)
        return self._job(request)

    async def ListJobs(self, request, context):
        self.record(context, "ListJobs", request)
        mine = [j for j in self.jobs.values() if j.user_id == request.user.user_id]
        chunk, nxt = _page(mine, request.page)
        return store_pb2.ListJobsResponse(jobs=chunk, next_token=nxt)

    async def UpdateJob(self, request, context):
        self.record(context, "UpdateJob", request)
        job = self._job(store_pb2.JobRef(user=request.user, job_id=request.job_id))
        if job.status in ("queued", "running"):
            raise OpenEOError("JobLocked", "Batch job is locked due to a queued or running batch computation.", 400)
        fields = {"title": "title", "description": "description", "process": "process_json", "plan": "plan",
                  "budget": "budget", "log_level": "log_level", "job_options": "job_options_json"}
        for name in request.update_mask:
            setattr(job, fields[name], getattr(request, fields[name]))
        job.version += 1
        return job

    async def DeleteJob(self, request, context):
        self.record(context, "DeleteJob", request)
        self._job(request)
        del self.jobs[request.job_id]
        return common_pb2.Empty()

    async def QueueJob(self, request, context):
        self.record(context, "QueueJob", request)
        job = self._job(request)
        if job.status not in ("queued", "running"):
            job.status = "queued"
        return job

    async def AdmitSyncRequest(self, request, context):
        self.record(context, "AdmitSyncRequest", request)
        if self.refusal is not None:
            return self.refusal
        slot = f"{request.user_id}|{len(self.slots_held)}"
        self.slots_held.add(slot)
        return store_pb2.SyncAdmission(admitted=True, slot_id=slot, slot_token="t",
                                       spent_this_month=self.spent.get(request.user_id, 0.0))

    async def ReleaseSyncSlot(self, request, context):
        self.record(context, "ReleaseSyncSlot", request)
        self.slots_held.discard(request.slot_id)
        return common_pb2.Empty()

    async def AddSpending(self, request, context):
        self.record(context, "AddSpending", request)
        self.spent[request.user_id] = self.spent.get(request.user_id, 0.0) + request.processing_units
        return await self.GetUserSpending(store_pb2.UserSpendingRequest(user_id=request.user_id), None)

    async def GetUserSpending(self, request, context):
        return store_pb2.UserSpending(month="2026-12", processing_units=self.spent.get(request.user_id, 0.0),
                                      active_jobs=self.active_jobs, seconds_to_next_month=3600.0)

    async def CancelJob(self, request, context):
        self.record(context, "CancelJob", request)
        job = self._job(request)
        if job.status == "queued":
            job.status = "canceled"
        elif job.status == "running":
            job.cancel_requested = True
        return job

    async def ListJobLogs(self, request, context):
        self.record(context, "ListJobLogs", request)
        self._job(store_pb2.JobRef(user=request.user, job_id=request.job_id))
        order = ["debug", "info", "warning", "error"]
        minimum = order.index(request.level) if request.level in order else 0
        entries = [e for e in self.logs.get(request.job_id, []) if order.index(e.level) >= minimum]
        if request.offset:
            entries = [e for e in entries if int(e.id) > int(request.offset)]
        limit = request.limit or 1000
        page = entries[:limit]
        nxt = page[-1].id if len(entries) > limit else ""
        return store_pb2.ListJobLogsResponse(logs=page, next_offset=nxt)

    def _service(self, ref) -> store_pb2.Service:
        svc = self.services.get(ref.service_id)
        if svc is None or svc.user_id != ref.user.user_id:
            raise OpenEOError("ServiceNotFound", f"Service '{ref.service_id}' does not exist.", 404)
        return svc

    async def CreateService(self, request, context):
        self.record(context, "CreateService", request)
        svc = store_pb2.Service(
            id=f"s-{next(self._ids)}", user_id=request.user.user_id, title=request.title,
            description=request.description, process_json=request.process_json, type=request.type,
            enabled=request.enabled, configuration_json=request.configuration_json, created=NOW, updated=NOW,
            version=1, budget=request.budget, plan=request.plan, log_level=request.log_level,
            processing_units_per_month=request.processing_units_per_month,
        )
        self.services[svc.id] = svc
        return svc

    async def GetService(self, request, context):
        self.record(context, "GetService", request)
        return self._service(request)

    async def ListServices(self, request, context):
        self.record(context, "ListServices", request)
        mine = [s for s in self.services.values() if s.user_id == request.user.user_id]
        chunk, nxt = _page(mine, request.page)
        return store_pb2.ListServicesResponse(services=chunk, next_token=nxt)

    async def UpdateService(self, request, context):
        self.record(context, "UpdateService", request)
        svc = self._service(store_pb2.ServiceRef(user=request.user, service_id=request.service_id))
        fields = {"title": "title", "description": "description", "process": "process_json", "enabled": "enabled",
                  "configuration": "configuration_json", "plan": "plan", "budget": "budget", "log_level": "log_level"}
        for name in request.update_mask:
            setattr(svc, fields[name], getattr(request, fields[name]))
        if "plan" in request.update_mask:
            svc.processing_units_per_month = request.processing_units_per_month
        return svc

    async def DeleteService(self, request, context):
        self.record(context, "DeleteService", request)
        self._service(request)
        del self.services[request.service_id]
        return common_pb2.Empty()

    async def PutProcessGraph(self, request, context):
        self.record(context, "PutProcessGraph", request)
        pg = store_pb2.ProcessGraph(id=request.process_graph_id, user_id=request.user.user_id,
                                    process_json=request.process_json, created=NOW, updated=NOW, version=1)
        self.udps[(request.user.user_id, request.process_graph_id)] = pg
        return pg

    async def GetProcessGraph(self, request, context):
        self.record(context, "GetProcessGraph", request)
        pg = self.udps.get((request.user.user_id, request.process_graph_id))
        if pg is None:
            raise OpenEOError("ProcessGraphNotFound", f"User-defined process '{request.process_graph_id}' does not exist.", 404)
        return pg

    async def ListProcessGraphs(self, request, context):
        self.record(context, "ListProcessGraphs", request)
        mine = [p for (u, _), p in sorted(self.udps.items()) if u == request.user.user_id]
        chunk, nxt = _page(mine, request.page)
        return store_pb2.ListProcessGraphsResponse(process_graphs=chunk, next_token=nxt)

    async def DeleteProcessGraph(self, request, context):
        self.record(context, "DeleteProcessGraph", request)
        await self.GetProcessGraph(request, context)
        del self.udps[(request.user.user_id, request.process_graph_id)]
        return common_pb2.Empty()


# ---------------------------------------------------------------- compiler


def _graph(process_json: str) -> dict:
    process = json.loads(process_json)
    return process.get("process_graph", process)


def _problems(process_json: str) -> list[compiler_pb2.ProblemReport]:
    problems = []
    for node_id, node in _graph(process_json).items():
        pid = node.get("process_id") if isinstance(node, dict) else None
        if pid not in PROCESSES:
            problems.append(compiler_pb2.ProblemReport(
                code="ProcessUnsupported", message=f"Process with identifier '{pid}' is not available.",
                node_id=node_id, http_status=400))
    return problems


class FakeCompiler(compiler_pb2_grpc.CompilerServiceServicer, Recorder):
    def __init__(self):
        Recorder.__init__(self)

    async def ListFileFormats(self, request, context):
        self.record(context, "ListFileFormats", request)
        return common_pb2.JsonDocument(json=json.dumps(
            {"input": {}, "output": {"GTiff": {"title": "GeoTIFF", "gis_data_types": ["raster"], "parameters": {}}}}))

    async def ListProcesses(self, request, context):
        self.record(context, "ListProcesses", request)
        return common_pb2.JsonDocument(json=json.dumps(
            {"processes": [{"id": p, "description": p, "parameters": [], "returns": {"schema": {}}} for p in PROCESSES],
             "links": []}))

    async def ListCollections(self, request, context):
        self.record(context, "ListCollections", request)
        return common_pb2.JsonDocument(json=json.dumps({"collections": [{"id": "SENTINEL2_L2A"}], "links": []}))

    async def GetCollection(self, request, context):
        self.record(context, "GetCollection", request)
        if request.collection_id != "SENTINEL2_L2A":
            raise OpenEOError("CollectionNotFound", f"Collection '{request.collection_id}' does not exist.", 404)
        return common_pb2.JsonDocument(json=json.dumps({"id": "SENTINEL2_L2A", "stac_version": "1.0.0", "links": [
            {"rel": "self", "href": "/collections/SENTINEL2_L2A"},
            {"rel": "license", "href": "https://example.com/license"}]}))

    async def GetQueryables(self, request, context):
        self.record(context, "GetQueryables", request)
        if request.collection_id != "SENTINEL2_L2A":
            raise OpenEOError("CollectionNotFound", f"Collection '{request.collection_id}' does not exist.", 404)
        return common_pb2.JsonDocument(json=json.dumps({"$id": "/collections/SENTINEL2_L2A/queryables", "type": "object",
                                                        "properties": {"eo:cloud_cover": {"type": "number"}}}))

    async def Validate(self, request, context):
        self.record(context, "Validate", request)
        return compiler_pb2.ValidateResponse(errors=_problems(request.process_json))

    async def Compile(self, request, context):
        self.record(context, "Compile", request)
        problems = _problems(request.process_json)
        if problems:
            raise OpenEOError(problems[0].code, problems[0].message, 400)
        return compiler_pb2.ExecutionPlan(
            graph_json=json.dumps(_graph(request.process_json)), result_node_id="save",
            output=compiler_pb2.OutputFormat(format="GTiff"), estimated_processing_units=12.5,
            estimated_bytes=4096, estimated_seconds=3725, process_json=request.process_json,
        )

    async def ValidateUserProcess(self, request, context):
        """Like the compiler: only a malformed process is refused (here: a node without process_id)."""
        self.record(context, "ValidateUserProcess", request)
        return compiler_pb2.ValidateResponse(errors=[
            compiler_pb2.ProblemReport(code="ProcessGraphInvalid", message=f"node '{nid}' has no 'process_id'.",
                                       node_id=nid, http_status=400)
            for nid, node in _graph(request.process_json).items()
            if not isinstance(node, dict) or not isinstance(node.get("process_id"), str)])


# ---------------------------------------------------------------- executor


class FakeExecutor(executor_pb2_grpc.ExecutorServiceServicer, Recorder):
    def __init__(self):
        Recorder.__init__(self)
        self.fail_mid_stream = False
        self.chunk_delay = 0.0
        self.asset_etag = '"v1-abc"'
        self.bytes_read = 0  # asset bytes the fake "read from S3"
        self.result_chunks = [b"II*\x00" + b"a" * 1000, b"b" * 1000, b"c" * 500]
        self.assets: dict[tuple[str, str], bytes] = {}
        self.estimate = 2.5  # PUs EstimateCosts answers
        #: an error Execute raises before its first chunk (a run failing after it spent PUs)
        self.fail_with: OpenEOError | None = None

    async def Execute(self, request, context):
        self.record(context, "Execute", request)
        if self.fail_with is not None:
            raise self.fail_with
        for i, data in enumerate(self.result_chunks):
            if i == 0:
                yield common_pb2.DataChunk(data=data, content_type="image/tiff; application=geotiff",
                                           filename="result.tif", processing_units=2.5)
            else:
                if self.fail_mid_stream:
                    raise OpenEOError("Internal", "boom", 500)
                await asyncio.sleep(self.chunk_delay)
                yield common_pb2.DataChunk(data=data)

    async def ReadJobAsset(self, request, context):
        self.record(context, "ReadJobAsset", request)
        data = self.assets.get((request.job_id, request.asset))
        if data is None:
            raise OpenEOError("FileNotFound", f"File '{request.asset}' does not exist.", 404)
        # the executor's JobAssetRef semantics: whole, offset/length, suffix, metadata only
        size = len(data)
        if request.suffix_length > 0:
            offset = size - min(request.suffix_length, size)
            length = size - offset
        else:
            offset = request.offset
            length = 0 if offset >= size else (min(request.length, size - offset) if request.length else size - offset)
        part = b"" if request.metadata_only else data[offset : offset + length]
        self.bytes_read += len(part)
        yield common_pb2.DataChunk(data=part[:10], content_type="image/tiff; application=geotiff",
                                   filename=request.asset, total_size=size, etag=self.asset_etag,
                                   last_modified="2024-07-01T12:30:00Z", range_offset=offset, range_length=length)
        if part[10:]:
            yield common_pb2.DataChunk(data=part[10:])

    async def EstimateCosts(self, request, context):
        self.record(context, "EstimateCosts", request)
        return executor_pb2.CostEstimate(processing_units=self.estimate, requests=1, exact=True)

    async def DeleteJobResults(self, request, context):
        self.record(context, "DeleteJobResults", request)
        return common_pb2.Empty()


# ---------------------------------------------------------------- tiles


class FakeTiles(tiles_pb2_grpc.TilesServiceServicer, Recorder):
    def __init__(self, store: FakeStore):
        Recorder.__init__(self)
        self.store = store

    async def RenderTile(self, request, context):
        self.record(context, "RenderTile", request)
        if request.service_id not in self.store.services:
            raise OpenEOError("ServiceNotFound", f"Service '{request.service_id}' does not exist.", 404)
        etag = f'"{request.service_id}-{request.z}-{request.x}-{request.y}"'
        if request.if_none_match == etag:
            yield tiles_pb2.TileChunk(etag=etag, not_modified=True, max_age=600)
            return
        yield tiles_pb2.TileChunk(data=b"\x89PNG" + b"p" * 100, content_type="image/png", etag=etag, max_age=600)
        yield tiles_pb2.TileChunk(data=b"q" * 50)


# ---------------------------------------------------------------- servers


class FakeServer:
    def __init__(self, name: str, servicer, add_fn):
        self.name = name
        self.servicer = servicer
        self.add_fn = add_fn
        self.port = free_port()
        self.server: grpc.aio.Server | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server(interceptors=[RequestContextInterceptor()])
        self.add_fn(self.servicer, server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        server.add_insecure_port(self.addr)
        await server.start()
        self.health = health_servicer
        for service in ("", HEALTH_SERVICES[self.name]):
            await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
        self.server = server

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = None


class Fakes:
    def __init__(self):
        self.store = FakeStore()
        self.compiler = FakeCompiler()
        self.executor = FakeExecutor()
        self.tiles = FakeTiles(self.store)
        self.servers = {
            "store": FakeServer("store", self.store, store_pb2_grpc.add_StoreServiceServicer_to_server),
            "compiler": FakeServer("compiler", self.compiler, compiler_pb2_grpc.add_CompilerServiceServicer_to_server),
            "executor": FakeServer("executor", self.executor, executor_pb2_grpc.add_ExecutorServiceServicer_to_server),
            "tiles": FakeServer("tiles", self.tiles, tiles_pb2_grpc.add_TilesServiceServicer_to_server),
        }

    async def start(self) -> None:
        for server in self.servers.values():
            await server.start()

    async def stop(self) -> None:
        for server in self.servers.values():
            await server.stop()
