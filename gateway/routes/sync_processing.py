"""POST /result: synchronous processing, streamed from ExecutorService.Execute.

Compile errors (400) and unavailable services (503) are answered before any byte is streamed;
`OpenEO-Costs` carries the Sentinel Hub processing units the executor reports in the first chunk;
they count in the user's spending. The user's billing plan limits how many requests run at a time
and per minute, the month's spending and the size of one request (`gateway.quotas`); a `budget`
below the request's exact estimate is refused before any Sentinel Hub request.
"""

from __future__ import annotations

import asyncio
import json

import grpc
from aiohttp import web

from backend_common.errors import from_rpc_error
from backend_common.logging import get_logger
from backend_proto.v1 import compiler_pb2, executor_pb2, store_pb2
from gateway import billing, costs, quotas, routing, streaming
from gateway.auth import require_user
from gateway.http import process_of, read_json_object
from gateway.keys import CLIENTS, SETTINGS

log = get_logger(__name__)


def _format_costs(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


async def run_sync(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    body = await read_json_object(request)
    process = process_of(body)
    plans = billing.plans_of(request)
    billing_plan = plans.get(plans.normalize(body.get("plan")))
    budget = billing.budget_of(body)
    clients = request.app[CLIENTS]
    async with quotas.sync_admission(clients, user, billing_plan,
                                     slot_seconds=request.app[SETTINGS].sync_slot_seconds,
                                     capacity=request.app[SETTINGS].sync_capacity) as slot:
        plan = await clients.compiler.Compile(
            compiler_pb2.CompileRequest(user=user, process_json=json.dumps(process), purpose=compiler_pb2.PURPOSE_SYNC)
        )
        # The exact figure may ask Sentinel Hub's Catalog for the acquisitions: a round trip that
        # most requests need not pay, so the plan's rough figure decides whether it is needed.
        estimate = plan.estimated_processing_units
        largest = billing_plan.limits.largest_sync_request
        if budget or (largest > 0 and estimate > largest):
            estimate = (await costs.estimate_plan(clients, user, plan, batch_job=False)).processing_units
            quotas.check_budget(budget, estimate, "synchronous request")
        quotas.check_sync_size(billing_plan, estimate)
        call = clients.executor.Execute(executor_pb2.ExecuteRequest(user=user, plan=plan))
        try:
            first, rest = await streaming.first_chunk(call)
        except asyncio.CancelledError:  # the client hung up while the result was being computed
            call.cancel()
            log.info("sync_processing_cancelled", reason="client disconnected")
            raise
        except grpc.RpcError as err:
            error = from_rpc_error(err)
            # the graph's own failure pays what it spent; a failure of ours or of Sentinel Hub does not
            if error.billable and error.processing_units > 0:
                await _record_spending(clients, user, error.processing_units)
            raise error from None
        response = web.StreamResponse(status=200)
        response.headers["Content-Type"] = (first.content_type if first is not None else "") or "application/octet-stream"
        spent = first.processing_units if first is not None else 0.0
        response.headers["OpenEO-Costs"] = _format_costs(spent)
        if spent > 0:
            await _record_spending(clients, user, spent)
        if first is not None and first.filename:
            response.headers["Content-Disposition"] = f'inline; filename="{first.filename}"'
        if first is not None and first.total_size > 0:
            response.content_length = first.total_size
        if first is None:
            await slot.release()
            return await streaming.relay(request, call, response, first, rest)
        # every chunk through the look-ahead, so that a failure after the headers still truncates
        chunks = quotas.release_before_last(first, rest, slot.release)
        return await streaming.relay(request, call, response, None, chunks)


async def _record_spending(clients, user, processing_units: float) -> None:
    """The user's spending of this month (the plan's monthly limit); the result is not withheld
    when the store cannot count it."""
    try:
        await clients.store.AddSpending(store_pb2.SpendingRequest(user_id=user.user_id,
                                                                  processing_units=processing_units))
    except grpc.RpcError as err:
        log.warning("spending_not_recorded", user_id=user.user_id, processing_units=processing_units,
                    error=str(err)[:200])


def setup(app: web.Application) -> None:
    routing.add(app, "POST", "/result", run_sync)
