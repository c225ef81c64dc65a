import json

import grpc
import pytest

from backend_common.errors import from_rpc_error
from backend_common.grpc_server import RequestContextInterceptor
from backend_proto.v1 import common_pb2, compiler_pb2, compiler_pb2_grpc, store_pb2, store_pb2_grpc
from compiler_svc.servicer import register
from tests.compiler.conftest import BBOX, as_json, load, save

# A UDP using another UDP and a parameter default.
SCALE = {"id": "scale", "parameters": [{"name": "x", "schema": {}}, {"name": "f", "schema": {"type": "number"}, "default": 2}],
         "process_graph": {"m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "f"}}, "result": True}}}
MY_NDVI = {"id": "my_ndvi", "parameters": [{"name": "cube", "schema": {"type": "object", "subtype": "raster-cube"}}],
           "process_graph": {
               "n": {"process_id": "ndvi", "arguments": {"data": {"from_parameter": "cube"}}},
               "a": {"process_id": "apply", "arguments": {"data": {"from_node": "n"}, "process": {"process_graph": {
                   "s": {"process_id": "scale", "arguments": {"x": {"from_parameter": "x"}}, "result": True}}}}, "result": True}}}


class FakeStore(store_pb2_grpc.StoreServiceServicer):
    def __init__(self):
        self.requests = []

    async def GetProcessGraph(self, request, context):
        self.requests.append((request.user.user_id, request.process_graph_id))
        doc = {"scale": SCALE, "my_ndvi": MY_NDVI}.get(request.process_graph_id)
        if doc is None or request.user.user_id != "basic:alice":
            await context.abort(grpc.StatusCode.NOT_FOUND, "not found")
        return store_pb2.ProcessGraph(id=request.process_graph_id, user_id=request.user.user_id, process_json=json.dumps(doc))


@pytest.fixture
async def stubs():
    server = grpc.aio.server(interceptors=[RequestContextInterceptor()])
    store = FakeStore()
    store_pb2_grpc.add_StoreServiceServicer_to_server(store, server)
    port = server.add_insecure_port("127.0.0.1:0")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    register(server, store_pb2_grpc.StoreServiceStub(channel))
    await server.start()
    yield compiler_pb2_grpc.CompilerServiceStub(channel), store
    await channel.close()
    await server.stop(None)


ALICE = common_pb2.User(user_id="basic:alice")


def udp_graph():
    return {"l": load(), "u": {"process_id": "my_ndvi", "namespace": "user", "arguments": {"cube": {"from_node": "l"}}}, "s": save("u")}


async def test_list_processes_and_collections(stubs):
    stub, _ = stubs
    procs = json.loads((await stub.ListProcesses(common_pb2.Empty())).json)
    ids = {p["id"] for p in procs["processes"]}
    assert "load_collection" in ids and "run_udf" not in ids and procs["links"] == []
    cols = json.loads((await stub.ListCollections(common_pb2.Empty())).json)
    assert {c["id"] for c in cols["collections"]} >= {"SENTINEL2_L1C", "SENTINEL2_L2A", "SENTINEL1_GRD", "LANDSAT8-9_L2", "COPERNICUS_30"}
    doc = json.loads((await stub.GetCollection(compiler_pb2.GetCollectionRequest(collection_id="SENTINEL2_L2A"))).json)
    assert doc["cube:dimensions"]["bands"]["values"][:2] == ["B01", "B02"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetCollection(compiler_pb2.GetCollectionRequest(collection_id="NOPE"))
    err = from_rpc_error(info.value)
    assert (err.code, err.status) == ("CollectionNotFound", 404)


async def test_queryables_are_the_properties_load_collection_filters_on(stubs):
    from jsonschema import Draft201909Validator

    stub, _ = stubs
    s2 = json.loads((await stub.GetQueryables(compiler_pb2.GetCollectionRequest(collection_id="SENTINEL2_L2A"))).json)
    Draft201909Validator.check_schema(s2)
    assert list(s2["properties"]) == ["eo:cloud_cover"] and s2["additionalProperties"] is False
    assert s2["$id"] == "/collections/SENTINEL2_L2A/queryables"
    validator = Draft201909Validator(s2)
    assert validator.is_valid({"eo:cloud_cover": 20}) and not validator.is_valid({"eo:cloud_cover": 120})
    s1 = json.loads((await stub.GetQueryables(compiler_pb2.GetCollectionRequest(collection_id="SENTINEL1_GRD"))).json)
    assert list(s1["properties"]) == ["sat:orbit_state", "sar:instrument_mode", "s1:polarization", "s1:resolution",
                                      "s1:timeliness"]
    assert s1["properties"]["sat:orbit_state"]["enum"] == ["ascending", "descending"]
    alias = json.loads((await stub.GetQueryables(compiler_pb2.GetCollectionRequest(collection_id="SENTINEL2_L2A_SENTINELHUB"))).json)
    assert alias == s2  # an alias answers its collection's queryables
    by_alias = json.loads((await stub.GetCollection(compiler_pb2.GetCollectionRequest(collection_id="S2L1C"))).json)
    assert by_alias["id"] == "SENTINEL2_L1C" and "S2L1C" in by_alias["description"]
    listed = [c["id"] for c in json.loads((await stub.ListCollections(common_pb2.Empty())).json)["collections"]]
    assert len(listed) == len(set(listed)) == 19 and "S2L1C" not in listed and "SENTINEL2_L1C" in listed
    dem = json.loads((await stub.GetQueryables(compiler_pb2.GetCollectionRequest(collection_id="COPERNICUS_30"))).json)
    assert dem["properties"] == {}
    doc = json.loads((await stub.GetCollection(compiler_pb2.GetCollectionRequest(collection_id="SENTINEL2_L2A"))).json)
    assert {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "href": "/collections/SENTINEL2_L2A/queryables",
            "type": "application/schema+json", "title": "Queryables for load_collection's properties"} in doc["links"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetQueryables(compiler_pb2.GetCollectionRequest(collection_id="NOPE"))
    assert from_rpc_error(info.value).code == "CollectionNotFound"


async def test_compile_inlines_udps_from_store(stubs, js):
    stub, store = stubs
    plan = await stub.Compile(compiler_pb2.CompileRequest(user=ALICE, process_json=as_json(udp_graph()), purpose=compiler_pb2.PURPOSE_BATCH))
    assert list(plan.used_udps) == ["my_ndvi", "scale"]
    assert ("basic:alice", "my_ndvi") in store.requests
    (ld,) = plan.loads
    # the inlined UDP ("u" and "u/n") runs in the evalscript; the executor only has what follows
    assert set(json.loads(plan.graph_json)) == set(plan.node_order) and not {"u", "u/n", "l"} & set(plan.node_order)
    assert ld.result_node_id == "u" and set(ld.absorbed_node_ids) == {"l", "u/n"}
    js.eval(ld.evalscript)
    v = json.loads(js.eval('JSON.stringify(evaluatePixel([{"B04":0.1,"B08":0.3,"dataMask":1}],[{"dateFrom":"2021-06-02T00:00:00Z"}]).default)'))
    assert v == [pytest.approx(1.0)]  # ndvi 0.5, scaled by 2


async def test_udp_of_another_user_is_unsupported(stubs):
    stub, _ = stubs
    bob = common_pb2.User(user_id="basic:bob")
    resp = await stub.Validate(compiler_pb2.CompileRequest(user=bob, process_json=as_json(udp_graph())))
    assert [(e.code, e.node_id) for e in resp.errors] == [("ProcessUnsupported", "u")]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Compile(compiler_pb2.CompileRequest(user=bob, process_json=as_json(udp_graph())))
    assert from_rpc_error(info.value).code == "ProcessUnsupported"


async def test_udp_argument_checks(stubs):
    stub, _ = stubs
    g = udp_graph()
    g["u"]["arguments"] = {"cub": {"from_node": "l"}}
    resp = await stub.Validate(compiler_pb2.CompileRequest(user=ALICE, process_json=as_json(g)))
    assert {(e.code, e.node_id, e.parameter) for e in resp.errors} == {
        ("ProcessParameterUnsupported", "u", "cub"), ("ProcessParameterRequired", "u", "cube")}


async def test_grpc_validate_reports_and_compile_fails_with_first(stubs):
    stub, _ = stubs
    g = {"l": load(cid="NOPE"), "s": save("l", fmt="bmp")}
    resp = await stub.Validate(compiler_pb2.CompileRequest(user=ALICE, process_json=as_json(g)))
    assert [(e.code, e.parameter, e.http_status) for e in resp.errors] == [("CollectionNotFound", "id", 404), ("FormatUnsupported", "format", 400)]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Compile(compiler_pb2.CompileRequest(user=ALICE, process_json=as_json(g)))
    assert from_rpc_error(info.value).code == "CollectionNotFound"
    resp = await stub.ValidateUserProcess(compiler_pb2.CompileRequest(user=ALICE, process_json=json.dumps({"id": "mean", "process_graph": {"l": load(), "s": save("l")}})))
    assert [e.code for e in resp.errors] == ["PredefinedProcessExists"]


async def test_garbage_is_an_openeo_error_not_a_crash(stubs):
    stub, _ = stubs
    for text in ["", "[]", '{"process_graph": {"a": 1}}', '{"process_graph": {"a": {"process_id": "add", "arguments": {"x": {"from_node": 5}, "y": 1}, "result": true}}}']:
        resp = await stub.Validate(compiler_pb2.CompileRequest(user=ALICE, process_json=text))
        assert resp.errors and resp.errors[0].code.startswith("ProcessGraph"), text


async def test_validation_and_planning_run_in_the_service_pool_not_on_the_event_loop(monkeypatch):
    import threading

    from compiler_svc import compilation
    from compiler_svc.servicer import CompilerServicer

    threads = []
    real_validate, real_plan = compilation.validate_process, compilation.plan

    def validate_process(*args, **kwargs):
        threads.append(("validate", threading.current_thread().name))
        return real_validate(*args, **kwargs)

    def plan(*args, **kwargs):
        threads.append(("plan", threading.current_thread().name))
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(compilation, "validate_process", validate_process)
    monkeypatch.setattr(compilation, "plan", plan)
    servicer = CompilerServicer(None)
    request = compiler_pb2.CompileRequest(user=common_pb2.User(user_id="basic:alice"),
                                          process_json=as_json({"l": load(), "s": save("l")}),
                                          purpose=compiler_pb2.PURPOSE_SYNC)
    compiled = await servicer.Compile(request, None)
    assert len(compiled.loads) == 1
    report = await servicer.Validate(request, None)
    assert list(report.errors) == []
    assert [step for step, _ in threads] == ["validate", "plan", "validate", "plan"]
    assert all(name.startswith("compile") for _, name in threads), threads
    assert threading.current_thread().name not in {name for _, name in threads}
