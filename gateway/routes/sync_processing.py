"""POST /result: synchronous processing, streamed from ExecutorService.Execute.

Compile errors (400) and unavailable services (503) are answered before any byte is streamed;
`OpenEO-Costs` carries the Sentinel Hub processing units the executor reports in the first chunk.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from backend_common.logging import get_logger
from backend_proto.v1 import compiler_pb2, executor_pb2
from gateway import billing, routing, streaming
from gateway.auth import require_user
from gateway.http import optional_number, process_of, read_json_object
from gateway.keys import CLIENTS

log = get_logger(__name__)


def _format_costs(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


async def run_sync(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    body = await read_json_object(request)
    process = process_of(body)
    billing.normalize_billing_plan(body.get("plan"))
    optional_number(body, "budget")
    clients = request.app[CLIENTS]
    plan = await clients.compiler.Compile(
        compiler_pb2.CompileRequest(user=user, process_json=json.dumps(process), purpose=compiler_pb2.PURPOSE_SYNC)
    )
    call = clients.executor.Execute(executor_pb2.ExecuteRequest(user=user, plan=plan))
    try:
        first, rest = await streaming.first_chunk(call)
    except asyncio.CancelledError:  # the client hung up while the result was being computed
        call.cancel()
        log.info("sync_processing_cancelled", reason="client disconnected")
        raise
    response = web.StreamResponse(status=200)
    response.headers["Content-Type"] = (first.content_type if first is not None else "") or "application/octet-stream"
    costs = first.processing_units if first is not None else 0.0
    response.headers["OpenEO-Costs"] = _format_costs(costs)
    if first is not None and first.filename:
        response.headers["Content-Disposition"] = f'inline; filename="{first.filename}"'
    if first is not None and first.total_size > 0:
        response.content_length = first.total_size
    return await streaming.relay(request, call, response, first, rest)


def setup(app: web.Application) -> None:
    routing.add(app, "POST", "/result", run_sync)
