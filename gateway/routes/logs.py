"""GET /jobs/{job_id}/logs with `offset`, `level`, `limit` and a `next` link."""

from __future__ import annotations

from aiohttp import web

from backend_proto.v1 import store_pb2
from gateway import routing
from gateway.auth import require_user
from gateway.errors import api_error
from gateway.http import LOG_LEVELS, json_response, loads_or, parse_limit, public_url
from gateway.keys import CLIENTS


def log_entry_json(entry: store_pb2.LogEntry) -> dict:
    body = {"id": entry.id, "level": entry.level or "info", "message": entry.message}
    if entry.code:
        body["code"] = entry.code
    if entry.time:
        body["time"] = entry.time
    if entry.data_json:
        body["data"] = loads_or(entry.data_json, None)
    if entry.node_id:
        body["path"] = [{"node_id": part} for part in reversed(entry.node_id.split("/"))]
    return body


async def job_logs(request: web.Request) -> web.Response:
    user = await require_user(request)
    job_id = request.match_info["job_id"]
    level = request.query.get("level", "") or "debug"
    if level not in LOG_LEVELS:
        raise api_error("ParameterInvalid", f"Query parameter 'level' must be one of {', '.join(LOG_LEVELS)}.")
    limit = parse_limit(request)
    offset = request.query.get("offset", "")
    reply = await request.app[CLIENTS].store.ListJobLogs(
        store_pb2.ListJobLogsRequest(user=user, job_id=job_id, offset=offset, level=level, limit=limit)
    )
    links = []
    if reply.next_offset:
        query = {"offset": reply.next_offset, "level": level}
        if limit:
            query["limit"] = str(limit)
        links.append({"rel": "next", "href": public_url(request, f"/jobs/{job_id}/logs", query),
                      "type": "application/json"})
    return json_response({"level": level, "logs": [log_entry_json(e) for e in reply.logs], "links": links})


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/jobs/{job_id}/logs", job_logs)
