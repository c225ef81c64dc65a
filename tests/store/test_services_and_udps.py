"""Secondary web services and user-defined processes over real gRPC."""

from __future__ import annotations

import grpc
import pytest

from backend_proto.v1 import common_pb2, store_pb2
from tests.store.conftest import PROCESS, openeo_error, user

UDP = '{"id": "ndvi_x", "parameters": [], "process_graph": {"a": {"process_id": "absolute", "arguments": {"x": 1}, "result": true}}}'


async def create_service(store, owner, **fields) -> store_pb2.Service:
    return await store.stub.CreateService(store_pb2.CreateServiceRequest(
        user=owner, process_json=PROCESS, type="XYZ", enabled=True, configuration_json='{"tile_size": 256}', **fields))


async def test_service_crud(store):
    alice = user()
    service = await create_service(store, alice, title="tiles")
    assert service.id.startswith("s-") and len(service.id) == 34
    assert (service.type, service.enabled, service.version, service.title) == ("XYZ", True, 1, "tiles")
    assert await store.stub.GetService(store_pb2.ServiceRef(user=alice, service_id=service.id)) == service
    updated = await store.stub.UpdateService(store_pb2.UpdateServiceRequest(
        user=alice, service_id=service.id, update_mask=["enabled", "configuration"], enabled=False,
        configuration_json='{"tile_size": 512}', title="not masked"))
    assert (updated.enabled, updated.configuration_json, updated.title, updated.version) == (
        False, '{"tile_size": 512}', "tiles", 2)
    listing = await store.stub.ListServices(store_pb2.ListRequest(user=alice))
    assert [s.id for s in listing.services] == [service.id]
    await store.stub.DeleteService(store_pb2.ServiceRef(user=alice, service_id=service.id))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.GetService(store_pb2.ServiceRef(user=alice, service_id=service.id))
    assert openeo_error(err.value) == ("ServiceNotFound", 404)


async def test_a_services_plan_carries_its_monthly_limit(store):
    alice = user()
    service = await create_service(store, alice, plan="free", processing_units_per_month=300)
    assert (service.plan, service.processing_units_per_month) == ("free", 300)
    renamed = await store.stub.UpdateService(store_pb2.UpdateServiceRequest(
        user=alice, service_id=service.id, update_mask=["title"], title="t", processing_units_per_month=5))
    assert renamed.processing_units_per_month == 300  # only a new plan brings a new limit
    moved = await store.stub.UpdateService(store_pb2.UpdateServiceRequest(
        user=alice, service_id=service.id, update_mask=["plan"], plan="", processing_units_per_month=0))
    assert (moved.plan, moved.processing_units_per_month) == ("", 0)
    for_tiles = await store.stub.GetServiceForTiles(store_pb2.ServiceRef(service_id=service.id))
    assert for_tiles.processing_units_per_month == 0


async def test_services_are_private_but_readable_for_tiles_by_id(store):
    alice, bob = user(), user()
    service = await create_service(store, alice)
    ref = store_pb2.ServiceRef(user=bob, service_id=service.id)
    for call in (store.stub.GetService, store.stub.DeleteService):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(ref)
        assert openeo_error(err.value) == ("ServiceNotFound", 404)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.UpdateService(store_pb2.UpdateServiceRequest(user=bob, service_id=service.id, update_mask=["title"]))
    assert openeo_error(err.value) == ("ServiceNotFound", 404)
    assert (await store.stub.ListServices(store_pb2.ListRequest(user=bob))).services == []
    # tile rendering needs no user: the id is the capability
    assert (await store.stub.GetServiceForTiles(store_pb2.ServiceRef(service_id=service.id))).id == service.id
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.GetServiceForTiles(store_pb2.ServiceRef(service_id="s-" + "0" * 32))
    assert openeo_error(err.value) == ("ServiceNotFound", 404)


async def test_service_version_conflict_and_paging(store):
    alice = user()
    services = [await create_service(store, alice, title=str(i)) for i in range(5)]
    stale = services[0]
    await store.stub.UpdateService(store_pb2.UpdateServiceRequest(
        user=alice, service_id=stale.id, update_mask=["title"], title="first", expected_version=stale.version))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.UpdateService(store_pb2.UpdateServiceRequest(
            user=alice, service_id=stale.id, update_mask=["title"], title="second", expected_version=stale.version))
    assert openeo_error(err.value) == ("VersionConflict", 409)
    first = await store.stub.ListServices(store_pb2.ListRequest(user=alice, page=common_pb2.Page(limit=2)))
    rest = await store.stub.ListServices(store_pb2.ListRequest(user=alice, page=common_pb2.Page(limit=10, next_token=first.next_token)))
    assert [s.id for s in first.services] + [s.id for s in rest.services] == [s.id for s in reversed(services)]
    assert rest.next_token == ""


async def test_process_graph_put_replace_get_list_delete(store):
    alice = user()
    created = await store.stub.PutProcessGraph(store_pb2.PutProcessGraphRequest(user=alice, process_graph_id="ndvi_x", process_json=UDP))
    assert (created.id, created.version, created.process_json) == ("ndvi_x", 1, UDP)
    replacement = UDP.replace('"x": 1', '"x": 2')
    replaced = await store.stub.PutProcessGraph(store_pb2.PutProcessGraphRequest(user=alice, process_graph_id="ndvi_x", process_json=replacement))
    assert (replaced.version, replaced.created, replaced.process_json) == (2, created.created, replacement)
    assert await store.stub.GetProcessGraph(store_pb2.ProcessGraphRef(user=alice, process_graph_id="ndvi_x")) == replaced
    await store.stub.PutProcessGraph(store_pb2.PutProcessGraphRequest(user=alice, process_graph_id="other", process_json=UDP))
    listing = await store.stub.ListProcessGraphs(store_pb2.ListRequest(user=alice))
    assert [p.id for p in listing.process_graphs] == ["other", "ndvi_x"]
    await store.stub.DeleteProcessGraph(store_pb2.ProcessGraphRef(user=alice, process_graph_id="ndvi_x"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.GetProcessGraph(store_pb2.ProcessGraphRef(user=alice, process_graph_id="ndvi_x"))
    assert openeo_error(err.value) == ("ProcessGraphNotFound", 404)


async def test_same_process_graph_id_for_two_users_are_separate(store):
    alice, bob = user(), user()
    await store.stub.PutProcessGraph(store_pb2.PutProcessGraphRequest(user=alice, process_graph_id="mine", process_json=UDP))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.GetProcessGraph(store_pb2.ProcessGraphRef(user=bob, process_graph_id="mine"))
    assert openeo_error(err.value) == ("ProcessGraphNotFound", 404)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.DeleteProcessGraph(store_pb2.ProcessGraphRef(user=bob, process_graph_id="mine"))
    assert openeo_error(err.value) == ("ProcessGraphNotFound", 404)
    bobs = await store.stub.PutProcessGraph(store_pb2.PutProcessGraphRequest(user=bob, process_graph_id="mine", process_json="{}"))
    assert bobs.version == 1
    alices = await store.stub.GetProcessGraph(store_pb2.ProcessGraphRef(user=alice, process_graph_id="mine"))
    assert alices.process_json == UDP and alices.version == 1


async def test_bad_process_graph_input_is_a_400(store):
    alice = user()
    for pg_id, body, code in [("bad id!", UDP, "ProcessGraphIdInvalid"), ("", UDP, "ProcessGraphIdInvalid"),
                              ("ok", "nope", "ProcessInvalid")]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await store.stub.PutProcessGraph(store_pb2.PutProcessGraphRequest(user=alice, process_graph_id=pg_id, process_json=body))
        assert openeo_error(err.value) == (code, 400)
    assert (await store.stub.ListProcessGraphs(store_pb2.ListRequest(user=alice))).process_graphs == []
