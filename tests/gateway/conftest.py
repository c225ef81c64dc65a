"""Fixtures: fake gRPC services, a fake Sentinel Hub IdP and the gateway under test."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Settings
from tests.gateway.fakes import Fakes, free_port
from tests.gateway.idp import FakeIdp


@pytest.fixture
async def fakes():
    f = Fakes()
    await f.start()
    yield f
    await f.stop()


@pytest.fixture
async def idp():
    fake = FakeIdp()
    server = TestServer(fake.app())
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
def settings(fakes, idp, monkeypatch):
    for name, server in fakes.servers.items():
        monkeypatch.setenv(f"{name.upper()}_ADDR", server.addr)
    monkeypatch.setenv("GRPC_DEADLINE_SECONDS", "5")
    port = free_port()
    return Settings(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        max_body_bytes=64 * 1024,
        sh_token_url=idp.base_url + "/auth/realms/main/protocol/openid-connect/token",
        sh_jwks_url=idp.base_url + "/auth/realms/main/protocol/openid-connect/certs",
        jwks_min_refresh_seconds=0.5,
        signing_secret="test-secret",
        result_url_ttl_seconds=3600,
    )


async def start_client(settings: Settings) -> TestClient:
    client = TestClient(TestServer(create_app(settings), port=settings.port))
    await client.start_server()
    return client


@pytest.fixture
async def client(settings):
    c = await start_client(settings)
    yield c
    await c.close()


@pytest.fixture
async def make_client(settings):
    """Start a gateway with changed settings: `await make_client(max_body_bytes=10)`."""
    started = []

    async def make(**changes):
        c = await start_client(dataclasses.replace(settings, port=free_port(), **changes))
        started.append(c)
        return c

    yield make
    for c in started:
        await c.close()


@pytest.fixture
def auth(idp):
    return {"Authorization": "Bearer basic//" + idp.token()}


PROCESS = {
    "process_graph": {
        "load": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A"}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "load"}, "format": "GTiff"},
                 "result": True},
    }
}
BAD_PROCESS = {"process_graph": {"x": {"process_id": "no_such_process", "arguments": {}, "result": True}}}
