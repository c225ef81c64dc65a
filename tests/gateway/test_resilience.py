"""A stopped service yields a fast 503 openEO error, and the gateway recovers when it returns."""

from __future__ import annotations

import asyncio
import time


async def test_stopped_store_is_fast_503_then_recovers(client, auth, fakes):
    assert (await client.get("/jobs", headers=auth)).status == 200
    store = fakes.servers["store"]
    await store.stop()
    started = time.monotonic()
    resp = await client.get("/jobs", headers=auth)
    elapsed = time.monotonic() - started
    assert resp.status == 503
    body = await resp.json()
    assert body["code"] == "ServiceUnavailable" and body["id"] == resp.headers["X-Request-Id"]
    assert elapsed < 3, elapsed
    # Services that are still up keep working.
    assert (await client.get("/processes")).status == 200
    await store.start()
    deadline = time.monotonic() + 10
    while True:
        resp = await client.get("/jobs", headers=auth)
        if resp.status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert resp.status == 200


async def test_never_started_service_is_503(make_client, monkeypatch):
    from tests.gateway.fakes import free_port

    monkeypatch.setenv("COMPILER_ADDR", f"127.0.0.1:{free_port()}")
    c = await make_client()
    started = time.monotonic()
    resp = await c.get("/collections")
    assert resp.status == 503 and (await resp.json())["code"] == "ServiceUnavailable"
    assert time.monotonic() - started < 3
