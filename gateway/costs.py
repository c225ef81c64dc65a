"""What a process will cost before it runs: the compiler's plan, priced by the executor
(`EstimateCosts`: every Sentinel Hub request the plan sends, by Sentinel Hub's formula).

Batch-engine jobs (Sentinel Hub Batch Processing API) are priced by Sentinel Hub's own analysis
of the batch request, not by this estimate: such a plan's estimate belongs in `estimate_process`
once the executor runs them (the one place jobs and `/estimate` ask)."""

from __future__ import annotations

from dataclasses import dataclass

from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2
from gateway.clients import Clients


@dataclass(frozen=True)
class CostEstimate:
    plan: compiler_pb2.ExecutionPlan
    processing_units: float
    exact: bool
    reason: str


async def estimate_plan(clients: Clients, user: common_pb2.User, plan, *, batch_job: bool) -> CostEstimate:
    estimate = await clients.executor.EstimateCosts(
        executor_pb2.CostEstimateRequest(user=user, plan=plan, batch_job=batch_job))
    return CostEstimate(plan, estimate.processing_units, estimate.exact, estimate.reason)


async def estimate_process(clients: Clients, user: common_pb2.User, process_json: str, *, batch_job: bool
                           ) -> CostEstimate:
    purpose = compiler_pb2.PURPOSE_BATCH if batch_job else compiler_pb2.PURPOSE_SYNC
    plan = await clients.compiler.Compile(compiler_pb2.CompileRequest(user=user, process_json=process_json,
                                                                      purpose=purpose))
    return await estimate_plan(clients, user, plan, batch_job=batch_job)


def format_pu(value: float) -> str:
    return f"{value:.6g}"
