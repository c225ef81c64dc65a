"""POST /validation: problems of a process, from CompilerService.Validate (200 even when invalid).

A process is validated as for a batch job (`PURPOSE_BATCH`): the synchronous size limit
(`SYNC_MAX_PIXELS`) is a property of `POST /result`, not of the process, and is reported there.
"""

from __future__ import annotations

import json

from aiohttp import web

from backend_proto.v1 import compiler_pb2
from gateway import routing
from gateway.auth import optional_user
from gateway.process_checks import problem_json
from gateway.http import json_response, read_json_object
from gateway.keys import CLIENTS


async def validate(request: web.Request) -> web.Response:
    user = await optional_user(request)
    body = await read_json_object(request)
    # The body is the process object itself; also accept {"process": {...}} as /result takes it.
    process = body["process"] if isinstance(body.get("process"), dict) and "process_graph" not in body else body
    if not isinstance(process.get("process_graph"), dict):
        return json_response(
            {"errors": [{"code": "ProcessGraphMissing",
                         "message": "Invalid process specified. It doesn't contain a process graph.", "links": []}]}
        )
    reply = await request.app[CLIENTS].compiler.Validate(
        compiler_pb2.CompileRequest(user=user, process_json=json.dumps(process),
                                    purpose=compiler_pb2.PURPOSE_BATCH)
    )
    return json_response({"errors": [problem_json(p) for p in reply.errors]})


def setup(app: web.Application) -> None:
    routing.add(app, "POST", "/validation", validate)
