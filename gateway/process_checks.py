"""Process checks the routes share, answered by the compiler: validation (problems → openEO
errors or JSON) and the ids of the predefined processes."""

from __future__ import annotations

import json
import time

from aiohttp import web

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2, compiler_pb2
from gateway.keys import CLIENTS, PROCESS_IDS


def problem_to_error(problem: compiler_pb2.ProblemReport) -> OpenEOError:
    return OpenEOError(problem.code or "ProcessGraphInvalid", problem.message or "Invalid process.", problem.http_status or 400)


def problem_json(problem: compiler_pb2.ProblemReport) -> dict:
    entry = {"code": problem.code or "ProcessGraphInvalid", "message": problem.message}
    if problem.node_id or problem.parameter:
        entry["path"] = [{"node_id": part} for part in reversed(problem.node_id.split("/"))] if problem.node_id else []
        if problem.parameter:
            entry["parameter"] = problem.parameter
    entry["links"] = []
    return entry


async def validate_or_raise(
    request: web.Request, user: common_pb2.User | None, process: dict, purpose: int
) -> None:
    """Full validation; raises the first problem as an openEO error."""
    reply = await request.app[CLIENTS].compiler.Validate(
        compiler_pb2.CompileRequest(user=user, process_json=json.dumps(process), purpose=purpose)
    )
    if reply.errors:
        raise problem_to_error(reply.errors[0])


async def predefined_process_ids(request: web.Request, max_age: float = 300.0) -> frozenset[str]:
    """Ids of the backend's predefined processes (cached for `max_age` seconds)."""
    cache = request.app[PROCESS_IDS]
    now = time.monotonic()
    if "ids" in cache and now - cache["at"] < max_age:
        return cache["ids"]
    doc = await request.app[CLIENTS].compiler.ListProcesses(common_pb2.Empty())
    ids = frozenset(p.get("id") for p in json.loads(doc.json).get("processes", []) if isinstance(p, dict))
    cache.update(ids=ids, at=now)
    return ids
