"""Contract tests: the client against the real Sentinel Hub emulator (`sentinelhub_emulator`), run as
a subprocess (`python -m sentinelhub_emulator --host 127.0.0.1 --port <free>`), with faults injected
through `POST /_emulator/faults` and `POST /_emulator/expire-tokens`.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import numpy as np
import pytest

from devstack.emulator import running_emulator

from backend_common.errors import OpenEOError
from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient



UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}],
          output: {id: "default", bands: 2, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [s.B04, s.B08];
}
"""


def process_request(width, height, bbox=(500000.0, 5000000.0, 500000.0 + 10 * 700, 5000000.0 + 10 * 330), **extra):
    req = {
        "input": {
            "bounds": {"bbox": list(bbox), "properties": {"crs": UTM33}},
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2023-06-01T00:00:00Z", "to": "2023-06-30T23:59:59Z"}}}],
        },
        "output": {"width": width, "height": height, "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
    }
    req.update(extra)
    return req



@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with running_emulator(log_path) as emulator:
        yield emulator.url
        alive = emulator.child.running
    assert alive, "the emulator died during the tests: " + log_path.read_text()[-3000:]


@pytest.fixture
async def admin(emulator_url):
    async with aiohttp.ClientSession(base_url=emulator_url) as session:

        class Admin:
            async def fault(self, **spec):
                async with session.post("/_emulator/faults", json=spec) as resp:
                    assert resp.status < 300, await resp.text()

            async def expire_tokens(self):
                async with session.post("/_emulator/expire-tokens") as resp:
                    assert resp.status < 300, await resp.text()

            async def stats(self) -> dict:
                async with session.get("/_emulator/stats") as resp:
                    return await resp.json()

            async def clear(self):
                async with session.delete("/_emulator/faults"):
                    pass
                async with session.delete("/_emulator/stats"):
                    pass

        admin = Admin()
        await admin.clear()
        yield admin
        await admin.clear()


@pytest.fixture
async def make_client(emulator_url):
    clients = []

    async def make(**overrides) -> SentinelHubClient:
        values = dict(
            deployment=Deployment.emulator(emulator_url),
            client_id="demo-client",
            client_secret="demo-secret",
            backoff_base=0.05,
            backoff_max=0.2,
            request_timeout=30.0,
        )
        values.update(overrides)
        client = SentinelHubClient(ClientConfig(**values))
        await client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_process_raster_decodes_a_geotiff(make_client):
    sh = await make_client()
    raster = await sh.process_raster(process_request(70, 33))
    assert raster.data.shape == (2, 33, 70) and raster.data.dtype == np.float32
    assert raster.crs == "EPSG:32633"
    assert tuple(raster.transform)[:6] == pytest.approx((100.0, 0.0, 500000.0, 0.0, -100.0, 5003300.0))
    assert raster.processing_units > 0


async def test_split_equals_single_render(make_client, admin):
    # 7000 m x 3300 m at 700 x 333 px: a pixel height (9.909… m) that is not exactly representable
    single = await (await make_client()).process_raster(process_request(700, 333))
    sh = await make_client(split_threshold=256, tile_size=256, max_concurrency=4)
    split = await sh.process_raster(process_request(700, 333))
    assert split.tiles == 6
    assert split.data.shape == single.data.shape == (2, 333, 700)
    np.testing.assert_array_equal(split.data, single.data)
    assert split.transform == single.transform
    stats = await admin.stats()
    assert stats["requests"]["process"] == 1 + 6
    # PU summed over the tiles = what the emulator charged for them
    assert single.processing_units + split.processing_units == pytest.approx(stats["pu_spent"], rel=1e-4)


async def test_429_storm_honours_retry_after_ms(make_client, admin):
    sh = await make_client(backoff_base=10.0, backoff_max=10.0)  # backoff would take far longer
    await sh.process(process_request(4, 4))  # token in cache
    await admin.fault(status=429, retry_after_ms=200, count=5)
    started = time.perf_counter()
    result = await sh.process(process_request(4, 4))
    elapsed = time.perf_counter() - started
    assert result.attempts == 6
    assert 1.0 <= elapsed < 5.0  # 5 × 200 ms
    assert (await admin.stats())["statuses"]["process 429"] == 5


async def test_500s_then_success(make_client, admin):
    sh = await make_client()
    await sh.process(process_request(4, 4))
    await admin.fault(status=500, count=3)
    result = await sh.process(process_request(4, 4))
    assert result.attempts == 4 and result.processing_units > 0


async def test_slow_response_hits_timeout_then_retry(make_client, admin):
    sh = await make_client(request_timeout=0.5)
    await sh.process(process_request(4, 4))
    await admin.fault(delay_ms=2000, count=1)
    started = time.perf_counter()
    result = await sh.process(process_request(4, 4))
    assert result.attempts == 2
    assert time.perf_counter() - started < 2.0  # did not wait for the slow answer


async def test_token_expiry_mid_run_refreshes_once(make_client, admin):
    sh = await make_client()
    await sh.process(process_request(4, 4))
    fetches = sh.tokens.fetches
    await admin.expire_tokens()
    results = await asyncio.gather(*(sh.process(process_request(4, 4)) for _ in range(8)))
    assert len(results) == 8
    assert sh.tokens.fetches == fetches + 1
    stats = await admin.stats()
    assert stats["statuses"]["process 401"] >= 1 and stats["tokens_issued"] == 2  # first + one refresh


async def test_bad_evalscript_is_a_400_openeo_error_without_retries(make_client, admin):
    sh = await make_client()
    bad = process_request(4, 4, evalscript="//VERSION=3\nfunction setup( { this is not javascript")
    with pytest.raises(OpenEOError) as err:
        await sh.process(bad)
    assert err.value.code == "SentinelHubError" and err.value.status == 400
    assert "Sentinel Hub rejected the process request with HTTP 400" in err.value.message
    stats = await admin.stats()
    assert stats["requests"]["process"] == 1 and stats["statuses"]["process 400"] == 1  # not retried


async def test_catalog_paging_over_many_pages(make_client):
    sh = await make_client(catalog_page_limit=5)
    body = {"collections": ["sentinel-2-l2a"], "bbox": [13.0, 45.0, 14.0, 46.0],
            "datetime": "2023-01-01T00:00:00Z/2023-12-31T23:59:59Z", "limit": 5}
    result = await sh.search(body)
    assert result.pages > 3
    ids = [f["id"] for f in result.features]
    assert len(ids) == len(set(ids)) and len(ids) > 15
    days = await sh.acquisition_dates("sentinel-2-l2a", [13.0, 45.0, 14.0, 46.0], ("2023-01-01", "2023-12-31"))
    assert days == sorted(set(days)) and len(days) > 3
    assert days == sorted({f["properties"]["datetime"][:10] for f in result.features})
