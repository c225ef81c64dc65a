"""BYOC collections in the compiler: the operator's file, a user's collections resolved through the
(emulated) BYOC API for that request only, another account's collection unknown."""
from __future__ import annotations

import contextvars
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2
from compiler_svc.collections import byoc
from compiler_svc.collections.catalogue import catalogue, get_collection
from sentinelhub_emulator import byoc as emu_byoc
from sentinelhub_emulator import create_app
from sentinelhub_emulator.config import EmulatorConfig

CLIENTS = {"demo-client": "demo-secret", "demo-client-2": "demo-secret-2"}
LC = f"byoc-{emu_byoc.LANDCOVER_ID}"
SM = f"byoc-{emu_byoc.SOIL_MOISTURE_ID}"
TOKEN_PATH = "/auth/realms/main/protocol/openid-connect/token"


def graph(collection_id: str) -> str:
    return json.dumps({"process_graph": {
        "load": {"process_id": "load_collection", "arguments": {"id": collection_id, "spatial_extent": None,
                                                               "temporal_extent": None}},
        "apply": {"process_id": "apply", "arguments": {"data": {"from_node": "load"}, "process": {"process_graph": {
            "inner": {"process_id": "load_collection", "arguments": {"id": "byoc-inner"}, "result": True}}}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "apply"}, "format": "GTiff"},
                 "result": True}}})


def test_byoc_ids_include_callbacks_and_ignore_broken_graphs():
    assert byoc.byoc_ids(graph(LC)) == {LC, "byoc-inner"}
    assert byoc.byoc_ids("{not json") == set()


def test_operator_collections_from_a_file(tmp_path):
    path = tmp_path / "byoc.json"
    path.write_text(json.dumps([{"id": "CORINE", "sh_collection_id": "cbdba844-f86d-41dc-95ad-b3f7f12535e9",
                                 "title": "CORINE land cover", "gsd": 100,
                                 "bands": [{"name": "CLC", "data_type": "uint8", "nodata": 0}]}]))
    docs = byoc.configured(str(path))
    doc = docs["CORINE"]
    assert doc["sh_type"] == "byoc-cbdba844-f86d-41dc-95ad-b3f7f12535e9"
    assert doc["cube:dimensions"]["bands"]["values"] == ["CLC", "dataMask"]
    assert doc["summaries"]["raster:bands"][0] == {"data_type": "uint8", "nodata": 0}
    assert byoc.configured("") == {}


@pytest.fixture
async def emulator():
    client = TestClient(TestServer(create_app(EmulatorConfig(clients=CLIENTS))))
    await client.start_server()
    yield client
    await client.close()


async def _user(emulator, cid):
    resp = await emulator.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": cid,
                                                 "client_secret": CLIENTS[cid]})
    return common_pb2.User(user_id=f"basic~{cid}", sh_access_token=(await resp.json())["access_token"])


async def test_a_users_collection_exists_for_that_request_only(emulator):
    base = str(emulator.make_url("")).rstrip("/")
    resolver = byoc.ByocResolver(byoc.ByocSettings(base, base + TOKEN_PATH, "demo-client", "demo-secret"))
    owner, other = await _user(emulator, "demo-client"), await _user(emulator, "demo-client-2")
    try:
        async def compile_as(user):
            await byoc.resolve_graph(graph(LC), user, resolver.lookup)
            return LC in catalogue(), catalogue().get(LC)

        seen, coll = await asyncio_run_in_context(compile_as(owner))
        assert seen and coll.sh_type == LC and coll.sh_deployment == "sh-main"
        assert coll.band_names == ["LC", "dataMask"] and coll.doc["summaries"]["raster:bands"][0]["data_type"] == "uint8"
        assert coll.time_extent[0].year == 2021
        assert LC not in catalogue()  # outside that request
        seen, _ = await asyncio_run_in_context(compile_as(other))
        assert not seen
        with pytest.raises(OpenEOError) as err:
            await resolver.lookup(LC, other)
        assert err.value.status == 404
        sm = await resolver.lookup(SM, other)
        assert sm["summaries"]["raster:bands"][0]["data_type"] == "float32"
        # OIDC users: the backend's account (the demo client) owns the land cover
        assert (await resolver.lookup(LC, common_pb2.User(user_id="oidc~x~y")))["sh_type"] == LC
        with pytest.raises(OpenEOError):
            get_collection(LC)
    finally:
        await resolver.close()


async def asyncio_run_in_context(coro):
    """Runs `coro` in a copy of the context, as gRPC runs each call in its own task."""
    import asyncio

    return await asyncio.get_running_loop().create_task(coro, context=contextvars.copy_context())


def test_operator_collections_are_listed_and_loadable(tmp_path, monkeypatch):
    from compiler_svc.collections import catalogue as cat

    path = tmp_path / "byoc.json"
    path.write_text(json.dumps([{"id": "DEMO_LANDCOVER", "sh_collection_id": emu_byoc.LANDCOVER_ID, "gsd": 10,
                                 "temporal_extent": ["2021-01-01T00:00:00Z", None],
                                 "bands": [{"name": "LC", "data_type": "uint8", "nodata": 0}]}]))
    monkeypatch.setenv("BYOC_COLLECTIONS_FILE", str(path))
    cat._static_catalogue.cache_clear()
    try:
        listed = {c["id"]: c for c in cat.collections_document()["collections"]}
        assert listed["DEMO_LANDCOVER"]["cube:dimensions"]["bands"]["values"] == ["LC", "dataMask"]
        coll = cat.get_collection("DEMO_LANDCOVER")
        assert coll.sh_type == LC and coll.temporal and coll.gsd("LC") == 10.0
        assert "sh_deployment" not in cat.collection_document("DEMO_LANDCOVER")  # internal keys stay internal
    finally:
        monkeypatch.delenv("BYOC_COLLECTIONS_FILE")
        cat._static_catalogue.cache_clear()
