"""Fault injection, rate limiting (429 + Retry-After ms), PU header, stats."""
from __future__ import annotations

import time

import pytest

from sentinelhub_emulator.pu import processing_units
from sentinelhub_emulator.ratelimit import RateLimiter

from .conftest import NDVI, process_body, sh_error


async def test_fault_status_count_then_clears(emu):
    await emu.auth()
    resp = await emu.client.post("/_emulator/faults", json={"status": 500, "count": 3})
    assert resp.status == 201
    body = process_body(NDVI)
    for _ in range(3):
        await sh_error(await emu.process(body), 500)
    assert (await emu.process(body)).status == 200
    await emu.client.post("/_emulator/faults", json={"status": 503, "count": 5})
    assert (await emu.client.delete("/_emulator/faults")).status == 204
    assert (await emu.process(body)).status == 200


async def test_fault_delay_and_429(emu):
    await emu.auth()
    await emu.client.post("/_emulator/faults", json={"delay_ms": 600, "count": 1})
    t0 = time.monotonic()
    assert (await emu.process(process_body(NDVI))).status == 200
    assert time.monotonic() - t0 >= 0.6
    await emu.client.post("/_emulator/faults", json={"status": 429, "retry_after_ms": 200, "count": 2})
    for _ in range(2):
        resp = await emu.process(process_body(NDVI))
        await sh_error(resp, 429, "RATE_LIMIT_EXCEEDED")
        assert resp.headers["Retry-After"] == "200"
    assert (await emu.process(process_body(NDVI))).status == 200


async def test_token_scoped_fault_and_bad_fault(emu):
    await emu.client.post("/_emulator/faults", json={"status": 502, "count": 1, "scope": "token"})
    resp = await emu.client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                        "client_id": "demo-client", "client_secret": "demo-secret"})
    assert resp.status == 502
    assert await emu.get_token()
    assert (await emu.client.post("/_emulator/faults", json={"count": 2})).status == 400


async def test_request_rate_limit(make_emu):
    emu = await make_emu(rate_limit_requests_per_minute=3)
    body = {"collections": ["sentinel-2-l2a"], "datetime": "2021-06-01T00:00:00Z/2021-06-30T00:00:00Z"}
    for _ in range(3):
        assert (await emu.search(body)).status == 200
    resp = await emu.search(body)
    await sh_error(resp, 429, "RATE_LIMIT_EXCEEDED")
    wait = int(resp.headers["Retry-After"])
    assert 55_000 <= wait <= 60_000  # milliseconds until the oldest request leaves the 1-minute window


async def test_pu_rate_limit(make_emu):
    emu = await make_emu(rate_limit_pu_per_minute=1.0)
    big = process_body(NDVI, width=512, height=512)  # 512² · 2/3 · 2 = 1.333 PU
    resp = await emu.process(big)
    assert float(resp.headers["x-processingunits-spent"]) == pytest.approx(4 / 3)
    resp = await emu.process(process_body(NDVI))
    await sh_error(resp, 429)
    assert int(resp.headers["Retry-After"]) > 50_000


def test_rate_limiter_window_slides():
    now = [0.0]
    rl = RateLimiter(2, None, clock=lambda: now[0])
    assert rl.check("a") is None and rl.check("a") is None
    assert rl.check("a") == 60_000
    assert rl.check("b") is None
    now[0] = 30.0
    assert rl.check("a") == 30_000
    now[0] = 60.5
    assert rl.check("a") is None


def test_pu_formula_worked_example():
    # §2.6: 1024², 4 bands, FLOAT32, 2 samples, orthorectified → 4·4/3·2·2·2 = 42.667
    assert processing_units(1024, 1024, 4, True, n_samples=2, s1_factor=2.0) == pytest.approx(42.6667, rel=1e-4)
    assert processing_units(1, 1, 3, False) == pytest.approx(0.01)
    assert processing_units(1, 1, 1, False) == 0.005  # 0.01/3 is below the minimum
    assert processing_units(1, 1, 0, False) == 0.005


async def test_stats_count_requests_and_pu(emu):
    resp = await emu.process(process_body(NDVI))
    pu = float(resp.headers["x-processingunits-spent"])
    await emu.process(process_body(NDVI))
    await emu.search({"collections": ["sentinel-2-l2a"], "datetime": "2021-06-01T00:00:00Z/.."})
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["requests"]["process"] == 2
    assert stats["requests"]["catalog_search"] == 1
    assert stats["requests"]["token"] == 1
    assert stats["pu_spent"] == pytest.approx(2 * pu)


async def test_pu_quota_exhausted_is_403(make_emu):
    emu = await make_emu(pu_quota=0.01)
    assert (await emu.process(process_body(NDVI, width=80, height=80))).status == 200  # 0.0326 PU
    await sh_error(await emu.process(process_body(NDVI)), 403, "COMMON_INSUFFICIENT_PERMISSIONS")
    other = await emu.get_token()  # a new token does not reset the account's quota
    resp = await emu.client.post("/api/v1/process", json=process_body(NDVI), headers={"Authorization": f"Bearer {other}"})
    await sh_error(resp, 403)
