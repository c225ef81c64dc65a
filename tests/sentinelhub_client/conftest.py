from __future__ import annotations

import random

import pytest
from aiohttp.test_utils import TestServer

from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

from .fake_sh import FakeSentinelHub


@pytest.fixture
def fake() -> FakeSentinelHub:
    return FakeSentinelHub()


@pytest.fixture
async def fake_server(fake):
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def make_client(fake_server):
    clients = []

    async def make(**overrides) -> SentinelHubClient:
        base = str(fake_server.make_url("")).rstrip("/")
        values = dict(
            deployment=Deployment.emulator(base),
            client_id="demo-client",
            client_secret="demo-secret",
            backoff_base=0.01,
            backoff_max=0.05,
            request_timeout=5.0,
        )
        values.update(overrides)
        client = SentinelHubClient(ClientConfig(**values), rng=random.Random(7))
        await client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
