"""User-defined processes: GET /process_graphs, GET/PUT/DELETE /process_graphs/{process_graph_id}."""

from __future__ import annotations

import json
import re

from aiohttp import web

from backend_proto.v1 import common_pb2, compiler_pb2, store_pb2
from gateway import routing
from gateway.auth import require_user
from gateway.process_checks import predefined_process_ids, problem_to_error
from gateway.errors import api_error
from gateway.http import (
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    json_response,
    loads_or,
    next_links,
    optional_string,
    parse_limit,
    process_of,
    public_url,
    read_json_object,
)
from gateway.keys import CLIENTS

ID_PATTERN = re.compile(r"^\w+$")
SUMMARY_FIELDS = ("id", "summary", "description", "categories", "parameters", "returns", "deprecated", "experimental")


def _summary(pg: store_pb2.ProcessGraph) -> dict:
    process = loads_or(pg.process_json, {})
    body = {k: process[k] for k in SUMMARY_FIELDS if k in process}
    body["id"] = pg.id
    return body


async def list_process_graphs(request: web.Request) -> web.Response:
    user = await require_user(request)
    limit = parse_limit(request)
    reply = await request.app[CLIENTS].store.ListProcessGraphs(
        store_pb2.ListRequest(user=user, page=common_pb2.Page(limit=limit, next_token=request.query.get("next", "")))
    )
    return json_response(
        {
            "processes": [_summary(pg) for pg in reply.process_graphs],
            "links": next_links(request, "/process_graphs", reply.next_token, limit),
        }
    )


def _process_graph_id(request: web.Request) -> str:
    pg_id = request.match_info["process_graph_id"]
    if not ID_PATTERN.match(pg_id):
        raise api_error("ParameterInvalid", "Process ids may only contain letters, digits and underscores.")
    if len(pg_id) > MAX_ID_CHARS:
        raise api_error("ParameterInvalid", f"Process ids may be at most {MAX_ID_CHARS} characters long.")
    return pg_id


async def get_process_graph(request: web.Request) -> web.Response:
    user = await require_user(request)
    pg = await request.app[CLIENTS].store.GetProcessGraph(
        store_pb2.ProcessGraphRef(user=user, process_graph_id=_process_graph_id(request))
    )
    process = loads_or(pg.process_json, {})
    process["id"] = pg.id
    process.setdefault("links", [])
    return json_response(process)


async def put_process_graph(request: web.Request) -> web.Response:
    user = await require_user(request)
    pg_id = _process_graph_id(request)
    body = await read_json_object(request)
    process = dict(body)
    process_of({"process": process})  # process_graph present and an object
    for key in MAX_TEXT_CHARS:
        optional_string(process, key)
    process["id"] = pg_id  # the API: an `id` in the body that differs is replaced by the path's
    if pg_id in await predefined_process_ids(request):
        raise api_error("PredefinedProcessExists", f"A predefined process with the identifier '{pg_id}' exists.")
    clients = request.app[CLIENTS]
    report = await clients.compiler.ValidateUserProcess(
        compiler_pb2.CompileRequest(user=user, process_json=json.dumps(process), purpose=compiler_pb2.PURPOSE_UNSPECIFIED)
    )
    if report.errors:  # only a malformed process; an incomplete one (a draft) is stored
        raise problem_to_error(report.errors[0])
    await clients.store.PutProcessGraph(
        store_pb2.PutProcessGraphRequest(user=user, process_graph_id=pg_id, process_json=json.dumps(process))
    )
    return web.Response(status=200, headers={"Location": public_url(request, f"/process_graphs/{pg_id}")})


async def delete_process_graph(request: web.Request) -> web.Response:
    user = await require_user(request)
    await request.app[CLIENTS].store.DeleteProcessGraph(
        store_pb2.ProcessGraphRef(user=user, process_graph_id=_process_graph_id(request))
    )
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/process_graphs", list_process_graphs)
    routing.add(app, "GET", "/process_graphs/{process_graph_id}", get_process_graph)
    routing.add(app, "PUT", "/process_graphs/{process_graph_id}", put_process_graph)
    routing.add(app, "DELETE", "/process_graphs/{process_graph_id}", delete_process_graph)
