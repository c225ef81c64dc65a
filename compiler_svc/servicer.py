"""gRPC shell of the compiler: CompilerService on top of `compilation`."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import time
from concurrent.futures import Executor, ThreadPoolExecutor

import grpc

from backend_common.config import MAX_MESSAGE_BYTES
from backend_common.errors import OpenEOError
from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, compiler_pb2, compiler_pb2_grpc, store_pb2
from compiler_svc import compilation, output_formats, process_specs
from compiler_svc.collections import byoc
from compiler_svc.collections import catalogue as cat
from compiler_svc.config import PlanningSettings
from compiler_svc.problems import Problem, ProblemError

log = get_logger(__name__)

#: Largest execution plan answered (a margin below gRPC's message limit for the envelope).
MAX_PLAN_BYTES = MAX_MESSAGE_BYTES - 64 * 1024


def _reports(problems: list[Problem]) -> compiler_pb2.ValidateResponse:
    return compiler_pb2.ValidateResponse(errors=[
        compiler_pb2.ProblemReport(code=p.code, message=p.message, node_id=p.node_id, parameter=p.parameter,
                                   http_status=p.http_status) for p in problems])


class StoreUdpFetcher:
    """Fetches the caller's user-defined processes from store_svc."""

    def __init__(self, stub, user):
        self.stub = stub
        self.user = user

    async def __call__(self, udp_id: str) -> dict | None:
        if self.stub is None:
            return None
        try:
            found = await self.stub.GetProcessGraph(store_pb2.ProcessGraphRef(user=self.user, process_graph_id=udp_id))
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return None
            log.warning("store_unavailable", code=str(err.code()))
            raise OpenEOError("ServiceUnavailable", "The process store is temporarily unavailable.", 503) from None
        try:
            doc = json.loads(found.process_json)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None


def _tile(request):
    return request.tile if request.HasField("tile") and request.tile.size else None


class CompilerServicer(compiler_pb2_grpc.CompilerServiceServicer):
    def __init__(self, store_stub=None, pool: Executor | None = None, settings: PlanningSettings = PlanningSettings()):
        self.store_stub = store_stub
        self.settings = settings
        # validation and planning are CPU work: off the event loop, in this pool
        self.pool = pool or ThreadPoolExecutor(max_workers=4, thread_name_prefix="compile")

    async def _offload(self, fn, *args):
        try:
            # in the request's context: the caller's BYOC collections (collections.byoc.current)
            call = functools.partial(contextvars.copy_context().run, fn, *args)
            return await asyncio.get_running_loop().run_in_executor(self.pool, call)
        except RecursionError:  # the gateway's nesting limit keeps graphs below this
            raise OpenEOError("ProcessGraphComplexity", "The process graph is nested too deeply.", 400) from None

    def _fetch(self, request):
        return StoreUdpFetcher(self.store_stub, request.user)

    async def ListProcesses(self, request, context):
        return common_pb2.JsonDocument(json=process_specs.processes_document_json())

    async def ListCollections(self, request, context):
        return common_pb2.JsonDocument(json=json.dumps(cat.collections_document()))

    async def GetCollection(self, request, context):
        if request.collection_id.startswith(byoc.PREFIX) and request.HasField("user"):
            await byoc.resolve_ids({request.collection_id}, request.user)
        return common_pb2.JsonDocument(json=json.dumps(cat.collection_document(request.collection_id)))

    async def GetQueryables(self, request, context):
        return common_pb2.JsonDocument(json=json.dumps(cat.queryables_document(request.collection_id)))

    async def Validate(self, request, context):
        await byoc.resolve_graph(request.process_json, request.user)
        problems = await compilation.validate_all(request.process_json, self._fetch(request), purpose=request.purpose,
                                           tile=_tile(request), parameters_json=request.parameters_json,
                                           offload=self._offload, settings=self.settings)
        return _reports(problems)

    async def Compile(self, request, context):
        started = time.perf_counter()
        await byoc.resolve_graph(request.process_json, request.user)
        try:
            plan = await compilation.compile_process(request.process_json, self._fetch(request), purpose=request.purpose,
                                              tile=_tile(request), parameters_json=request.parameters_json,
                                              output_format=request.output_format, offload=self._offload,
                                              settings=self.settings)
        except ProblemError as exc:
            raise OpenEOError(exc.code, exc.message, exc.status) from None
        size = plan.ByteSize()
        if size > MAX_PLAN_BYTES:  # e.g. a UDP inlined many times: the reply would exceed gRPC's limit
            log.info("plan_too_large", bytes=size)
            raise OpenEOError("ProcessGraphComplexity", "The process graph is too complex: its execution plan is "
                              f"larger than {MAX_PLAN_BYTES // (1024 * 1024)} MiB. Please simplify it.", 400)
        log.info("compiled", loads=len(plan.loads), udps=list(plan.used_udps), pixels=plan.estimated_pixels,
                 duration_ms=round((time.perf_counter() - started) * 1000, 2))
        return plan

    async def ValidateUserProcess(self, request, context):
        return _reports(await compilation.validate_user_process(request.process_json, self._fetch(request),
                                                                offload=self._offload, max_nodes=self.settings.max_nodes))

    async def ListFileFormats(self, request, context):
        return common_pb2.JsonDocument(json=json.dumps(output_formats.file_formats()))


def register(server, store_stub=None, settings: PlanningSettings = PlanningSettings()) -> list[str]:
    compiler_pb2_grpc.add_CompilerServiceServicer_to_server(CompilerServicer(store_stub, settings=settings), server)
    return [compiler_pb2.DESCRIPTOR.services_by_name["CompilerService"].full_name]
