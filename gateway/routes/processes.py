"""GET /processes (the compiler's predefined processes)."""

from __future__ import annotations

from aiohttp import web

from backend_proto.v1 import common_pb2
from gateway import routing
from gateway.http import parse_limit, raw_json_response
from gateway.keys import CLIENTS


async def list_processes(request: web.Request) -> web.Response:
    parse_limit(request)  # checked (400 unless a positive integer); all processes fit one page
    doc = await request.app[CLIENTS].compiler.ListProcesses(common_pb2.Empty())
    return raw_json_response(doc.json)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/processes", list_processes)
