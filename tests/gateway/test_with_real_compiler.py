"""Issue 20, over-strictness: /validation answers whether a process is valid, not whether it fits
POST /result; an incomplete user-defined process is stored and its problems reported later.

The gateway runs against the real compiler (its servicer on a local gRPC server, reading
user-defined processes from the fake store)."""

from __future__ import annotations

import grpc
import pytest

from backend_common.grpc_server import RequestContextInterceptor
from backend_proto.v1 import store_pb2_grpc
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
async def real_compiler_client(settings, fakes, monkeypatch):
    server = grpc.aio.server(interceptors=[RequestContextInterceptor()])
    port = server.add_insecure_port("127.0.0.1:0")
    store_channel = grpc.aio.insecure_channel(fakes.servers["store"].addr)
    register(server, store_pb2_grpc.StoreServiceStub(store_channel))
    await server.start()
    monkeypatch.setenv("COMPILER_ADDR", f"127.0.0.1:{port}")
    client = await start_client(settings)
    yield client
    await client.close()
    await server.stop(None)
    await store_channel.close()


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


# A draft: `factor` is used but not declared, and `apply` has no `process` yet.
DRAFT = {"summary": "draft", "parameters": [{"name": "cube", "description": "a cube", "schema": {}}],
         "process_graph": {
             "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "cube"},
                                                           "y": {"from_parameter": "factor"}}},
             "a": {"process_id": "apply", "arguments": {"data": {"from_node": "m"}}, "result": True}}}


async def test_an_incomplete_user_process_is_stored_and_its_problems_reported(real_compiler_client, auth):
    client = real_compiler_client
    put = await client.put("/process_graphs/draft", json=DRAFT, headers=auth)
    assert put.status == 200, await put.text()
    stored = await (await client.get("/process_graphs/draft", headers=auth)).json()
    assert stored["process_graph"] == DRAFT["process_graph"]
    # its problems, through /validation
    errors = (await (await client.post("/validation", json=DRAFT, headers=auth)).json())["errors"]
    messages = " ".join(e["message"] for e in errors)
    assert "factor" in messages and "process" in messages, errors
    # and when a graph that calls it is validated or run
    graph = {"process_graph": {
        **LARGE["process_graph"],
        "l": {**LARGE["process_graph"]["l"], "arguments": {**LARGE["process_graph"]["l"]["arguments"],
                                                           "temporal_extent": ["2021-06-01", "2021-06-05"]}},
        "d": {"process_id": "draft", "namespace": "user", "arguments": {"cube": {"from_node": "l"}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "d"}, "format": "GTiff"},
              "result": True}}}
    errors = (await (await client.post("/validation", json=graph, headers=auth)).json())["errors"]
    assert errors and any("factor" in e["message"] for e in errors), errors
    run = await client.post("/result", json={"process": graph}, headers=auth)
    assert run.status == 400, await run.text()
    # malformed documents are still refused
    for body, code in [({"summary": "no graph"}, "ProcessGraphMissing"),
                       ({"process_graph": {"x": {"arguments": {}, "result": True}}}, "ProcessGraphInvalid"),
                       ({"process_graph": {"x": {"process_id": "absolute", "arguments": {}, "result": True}},
                         "parameters": "not an array"}, "ProcessGraphInvalid")]:
        refused = await client.put("/process_graphs/broken", json=body, headers=auth)
        assert refused.status == 400 and (await refused.json())["code"] == code, body
    predefined = await client.put("/process_graphs/ndvi", json=DRAFT, headers=auth)
    assert predefined.status == 400 and (await predefined.json())["code"] == "PredefinedProcessExists"
    bad_id = await client.put("/process_graphs/not-an-id", json=DRAFT, headers=auth)
    assert bad_id.status == 400
    assert (await client.get("/process_graphs/broken", headers=auth)).status == 404
