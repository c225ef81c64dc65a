"""Issue 20: /validation answers whether a process is valid, not whether it fits POST /result.

The gateway runs against the real compiler (its servicer on a local gRPC server)."""

from __future__ import annotations

import grpc
import pytest

from backend_common.grpc_server import RequestContextInterceptor
from compiler_svc.servicer import register
from tests.gateway.conftest import start_client

# About 7,400 x 11,100 px at 10 m and a year of dates: far above the synchronous limit
# (SYNC_MAX_PIXELS, 2500 x 2500 x 50), well within one batch load.
LARGE = {"process_graph": {
    "l": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "bands": ["B04"], "temporal_extent": ["2021-01-01", "2022-01-01"],
        "spatial_extent": {"west": 16.0, "south": 48.0, "east": 17.0, "north": 48.7}}},
    "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"}, "format": "GTiff"}, "result": True},
}}


@pytest.fixture
async def real_compiler_client(settings, monkeypatch):
    server = grpc.aio.server(interceptors=[RequestContextInterceptor()])
    port = server.add_insecure_port("127.0.0.1:0")
    register(server)
    await server.start()
    monkeypatch.setenv("COMPILER_ADDR", f"127.0.0.1:{port}")
    client = await start_client(settings)
    yield client
    await client.close()
    await server.stop(None)


async def test_validation_does_not_apply_the_synchronous_limit(real_compiler_client, auth):
    client = real_compiler_client
    resp = await client.post("/validation", json=LARGE, headers=auth)
    assert resp.status == 200
    assert (await resp.json()) == {"errors": []}
    # the same graph is still refused by POST /result, which has the limit
    sync = await client.post("/result", json={"process": LARGE}, headers=auth)
    assert sync.status == 400
    assert (await sync.json())["code"] == "ProcessGraphComplexity"
    # and real problems are still reported
    broken = {"process_graph": {**LARGE["process_graph"], "l": {"process_id": "load_collection", "arguments": {
        **LARGE["process_graph"]["l"]["arguments"], "id": "NO_SUCH_COLLECTION"}}}}
    errors = (await (await client.post("/validation", json=broken, headers=auth)).json())["errors"]
    assert [e["code"] for e in errors] == ["CollectionNotFound"]
