"""The client against a scriptable fake Sentinel Hub: auth, retries, errors, PU, decoding, catalog."""

import asyncio
import time

import numpy as np
import pytest

from backend_common.errors import OpenEOError
from executor_svc.sentinelhub import MemmapSink

from .fake_sh import field

EVALSCRIPT = "//VERSION=3\nfunction setup(){}"


def req(width=8, height=6, bbox=(10.0, 40.0, 10.8, 40.6), responses=1):
    outs = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    if responses > 1:
        outs.append({"identifier": "userdata", "format": {"type": "application/json"}})
    return {
        "input": {"bounds": {"bbox": list(bbox)}, "data": [{"type": "sentinel-2-l2a"}]},
        "output": {"width": width, "height": height, "responses": outs},
        "evalscript": EVALSCRIPT,
    }


def expected(bbox, width, height):
    minx, miny, maxx, maxy = bbox
    xs = minx + (np.arange(width) + 0.5) * (maxx - minx) / width
    ys = maxy - (np.arange(height) + 0.5) * (maxy - miny) / height
    return field(*np.meshgrid(xs, ys))


# ------------------------------------------------------------------ auth


async def test_one_token_fetch_for_many_concurrent_callers(fake, make_client):
    sh = await make_client()
    results = await asyncio.gather(*(sh.process(req()) for _ in range(20)))
    assert fake.token_requests == 1
    assert all(r.content_type == "image/tiff" for r in results)


async def test_token_refreshed_before_expiry(fake, make_client):
    fake.expires_in = 1  # margin becomes half the lifetime: refresh after 0.5 s
    sh = await make_client()
    await sh.process(req())
    await sh.process(req())
    assert fake.token_requests == 1
    await asyncio.sleep(0.6)
    await sh.process(req())
    assert fake.token_requests == 2


async def test_refresh_margin_is_at_least_60s(fake, make_client):
    fake.expires_in = 3600
    sh = await make_client()
    await sh.process(req())
    (token,) = sh.tokens._tokens.values()
    assert token.refresh_at <= time.monotonic() + 3600 - 60


async def test_401_forces_one_refresh_then_succeeds(fake, make_client):
    sh = await make_client()
    await sh.process(req())
    fake.valid_tokens.clear()  # every token revoked server side
    results = await asyncio.gather(*(sh.process(req()) for _ in range(10)))
    assert len(results) == 10
    assert fake.token_requests == 2  # one refresh for the whole 401 storm


async def test_persistent_401_is_an_openeo_error(fake, make_client, monkeypatch):
    sh = await make_client()
    await sh.process(req())
    real_authorized = fake._authorized
    monkeypatch.setattr(fake, "_authorized", lambda request: False)
    with pytest.raises(OpenEOError) as err:
        await sh.process(req())
    assert err.value.status == 502 and "401" in err.value.message
    assert fake.token_requests == 2
    monkeypatch.setattr(fake, "_authorized", real_authorized)


async def test_user_bearer_token_is_used_and_never_refreshed(fake, make_client):
    sh = await make_client(client_id=None, client_secret=None)
    fake.valid_tokens.add("user-token")
    result = await sh.process(req(), token="user-token")
    assert result.processing_units == 1.5
    fake.valid_tokens.clear()
    with pytest.raises(OpenEOError) as err:
        await sh.process(req(), token="user-token")
    assert err.value.code == "TokenInvalid" and err.value.status == 403
    assert fake.token_requests == 0


async def test_bad_backend_credentials(fake, make_client):
    sh = await make_client(client_secret="wrong")
    with pytest.raises(OpenEOError) as err:
        await sh.process(req())
    assert err.value.status == 502 and "bad secret" in err.value.message
    assert fake.token_requests == 1  # 4xx from the token endpoint is not retried


async def test_token_endpoint_5xx_and_429_are_retried(fake, make_client):
    fake.token_faults = [{"status": 503}, {"status": 429, "headers": {"Retry-After": "50"}}]
    sh = await make_client()
    await sh.process(req())
    assert fake.token_requests == 3


async def test_no_credentials_and_no_token(make_client):
    sh = await make_client(client_id=None, client_secret=None)
    with pytest.raises(OpenEOError) as err:
        await sh.process(req())
    assert err.value.status == 503


# ------------------------------------------------------------------ retries


async def test_5xx_retried_with_backoff_then_success(fake, make_client):
    sh = await make_client()
    fake.faults = [{"status": 500}, {"status": 502}, {"status": 503}]
    result = await sh.process(req())
    assert result.attempts == 4
    assert result.processing_units == 1.5  # only the successful response is charged
    times = [t for t, path, _ in fake.calls if path == "process"]
    gaps = np.diff(times)
    assert gaps[0] >= 0.005 and gaps[2] >= 0.02  # 0.01·2^n, half fixed + half jitter


async def test_5xx_exhausted_is_502(fake, make_client):
    sh = await make_client(max_retries=2)
    fake.faults = [{"status": 500}] * 5
    with pytest.raises(OpenEOError) as err:
        await sh.process(req())
    assert err.value.status == 502 and "3 attempt" in err.value.message and "HTTP 500" in err.value.message


async def test_429_honours_retry_after_in_milliseconds(fake, make_client):
    sh = await make_client(backoff_base=5.0, backoff_max=5.0)  # backoff would be far longer
    fake.faults = [{"status": 429, "headers": {"Retry-After": "300"}}] * 2
    started = time.perf_counter()
    result = await sh.process(req())
    elapsed = time.perf_counter() - started
    assert result.attempts == 3
    assert 0.6 <= elapsed < 4  # two Retry-After waits of 0.3 s, not two backoffs of 5 s


async def test_429_without_retry_after_falls_back_to_backoff(fake, make_client):
    sh = await make_client(backoff_base=0.1, backoff_max=0.1)
    fake.faults = [{"status": 429}]
    started = time.perf_counter()
    await sh.process(req())
    assert 0.05 <= time.perf_counter() - started < 3


async def test_429_exhausted_is_503(fake, make_client):
    sh = await make_client(max_retries=1)
    fake.faults = [{"status": 429, "headers": {"Retry-After": "10"}}] * 3
    with pytest.raises(OpenEOError) as err:
        await sh.process(req())
    assert err.value.status == 503 and "rate limit" in err.value.message


async def test_timeout_is_retried(fake, make_client):
    sh = await make_client(request_timeout=0.2)
    fake.faults = [{"delay": 1.0}]
    result = await sh.process(req())
    assert result.attempts == 2


async def test_connection_error_is_retried_then_503(make_client, fake_server):
    from executor_svc.sentinelhub import Deployment

    sh = await make_client(max_retries=2)
    dead = Deployment("dead", "http://127.0.0.1:9", str(fake_server.make_url("/auth/realms/main/protocol/openid-connect/token")))
    with pytest.raises(OpenEOError) as err:
        await sh.process(req(), deployment=dead)
    assert err.value.status == 503 and "connection error" in err.value.message


async def test_400_is_not_retried_and_carries_sh_message(fake, make_client):
    sh = await make_client()
    bad = req()
    bad["evalscript"] = "function setup(){}"
    with pytest.raises(OpenEOError) as err:
        await sh.process(bad)
    assert err.value.code == "SentinelHubError" and err.value.status == 400
    assert "RENDERER_EXCEPTION" in err.value.message and "Invalid evalscript" in err.value.message
    assert len([c for c in fake.calls if c[1] == "process"]) == 1


async def test_concurrency_bounded_per_account(fake, make_client):
    sh = await make_client(max_concurrency=3)
    fake.process_delay = 0.05
    fake.valid_tokens.add("user-token")
    await asyncio.gather(*(sh.process(req()) for _ in range(12)))
    assert fake.max_in_flight == 3
    fake.max_in_flight = 0
    # a user's own account has its own bound, independent of the backend's
    await asyncio.gather(*(sh.process(req()) for _ in range(6)), *(sh.process(req(), token="user-token") for _ in range(6)))
    assert fake.max_in_flight == 6


# ------------------------------------------------------------------ decoding and splitting


async def test_process_raster_single_tiff(make_client):
    sh = await make_client()
    bbox = (10.0, 40.0, 10.8, 40.6)
    raster = await sh.process_raster(req(8, 6, bbox))
    assert raster.data.shape == (2, 6, 8) and raster.data.dtype == np.float32
    np.testing.assert_array_equal(raster.data, expected(bbox, 8, 6))
    assert raster.crs == "EPSG:4326" and raster.tiles == 1 and raster.userdata is None
    assert tuple(raster.transform)[:6] == pytest.approx((0.1, 0.0, 10.0, 0.0, -0.1, 40.6))


async def test_process_raster_tar_with_userdata(make_client):
    sh = await make_client()
    raster = await sh.process_raster(req(responses=2))
    assert raster.userdata == {"dates": ["2023-01-01T00:00:00Z"], "bands": ["A", "B"]}
    assert raster.data.shape == (2, 6, 8)


async def test_split_equals_single_render(fake, make_client):
    bbox = (10.0, 40.0, 10.7, 40.333)  # pixel size not exactly representable
    single = await (await make_client()).process_raster(req(700, 333, bbox, responses=2))
    sh = await make_client(split_threshold=256, tile_size=256, max_concurrency=4)
    fake.calls.clear()
    split = await sh.process_raster(req(700, 333, bbox, responses=2))
    assert split.tiles == 6 and len(fake.calls) == 6
    assert split.data.shape == single.data.shape == (2, 333, 700)
    np.testing.assert_array_equal(split.data, single.data)
    assert split.transform == single.transform and split.crs == single.crs
    assert split.userdata == single.userdata
    assert split.processing_units == pytest.approx(6 * 1.5)
    for _, _, body in fake.calls:
        assert body["output"]["width"] <= 256 and body["output"]["height"] <= 256


async def test_split_bounds_tiles_in_flight_and_memmap_sink(fake, make_client, tmp_path):
    sh = await make_client(split_threshold=100, tile_size=100, max_concurrency=8, max_tiles_in_flight=2)
    fake.process_delay = 0.02
    sink = MemmapSink(tmp_path / "out.npy")
    raster = await sh.process_raster(req(450, 300, (0.0, 0.0, 4.5, 3.0)), sink=sink)
    assert raster.tiles == 15 and fake.max_in_flight <= 2
    on_disk = np.load(tmp_path / "out.npy", mmap_mode="r")
    np.testing.assert_array_equal(on_disk, expected((0.0, 0.0, 4.5, 3.0), 450, 300))


async def test_split_failure_surfaces_openeo_error(fake, make_client):
    sh = await make_client(split_threshold=100, tile_size=100, max_retries=0)
    fake.faults = [{"status": 400, "body": {"error": {"message": "boom", "code": "COMMON_BAD_PAYLOAD"}}}]
    with pytest.raises(OpenEOError) as err:
        await sh.process_raster(req(300, 300, (0.0, 0.0, 3.0, 3.0)))
    assert "boom" in err.value.message


# ------------------------------------------------------------------ catalog


async def test_search_follows_every_page(fake, make_client):
    fake.catalog = [{"type": "Feature", "id": f"i{i}", "properties": {"datetime": "2023-01-01T00:00:00Z"}} for i in range(250)]
    sh = await make_client()
    result = await sh.search({"collections": ["sentinel-2-l2a"], "datetime": "2023-01-01T00:00:00Z/2023-02-01T00:00:00Z"})
    assert [f["id"] for f in result.features] == [f"i{i}" for i in range(250)]
    assert result.pages == 3
    limited = await sh.search({"collections": ["x"], "datetime": "..", "limit": 10}, max_items=25)
    assert len(limited.features) == 25 and limited.pages == 3


async def test_acquisition_dates_distinct(fake, make_client):
    fake.catalog = [{"properties": {"datetime": f"2023-01-{1 + i // 3:02d}T10:00:00Z"}} for i in range(90)]
    sh = await make_client(catalog_page_limit=7)
    days = await sh.acquisition_dates("sentinel-2-l2a", [13, 45, 14, 46], ("2023-01-01", "2023-01-31"))
    assert days == [f"2023-01-{d:02d}" for d in range(1, 31)]
    bodies = [b for _, p, b in fake.calls if p == "search"]
    assert all(b["distinct"] == "date" for b in bodies) and len(bodies) == 5
    assert bodies[0]["datetime"] == "2023-01-01T00:00:00Z/2023-01-31T23:59:59Z"


async def test_acquisition_dates_fallback_dedupes_datetimes(fake, make_client):
    fake.distinct = False
    fake.catalog = [{"properties": {"datetime": t}} for t in
                    ["2023-01-02T23:30:00+00:00", "2023-01-02T10:00:00Z", "2023-01-05T01:00:00+02:00"]]
    sh = await make_client()
    days = await sh.acquisition_dates("sentinel-2-l2a", [13, 45, 14, 46], "2023-01-01T00:00:00Z/2023-02-01T00:00:00Z")
    assert days == ["2023-01-02", "2023-01-04"]  # UTC days


async def test_acquisition_dates_reprojects_bbox(fake, make_client):
    sh = await make_client()
    await sh.acquisition_dates("sentinel-2-l2a", [500000, 4500000, 510000, 4510000], ("2023-01-01", None), bbox_crs=32633)
    body = next(b for _, p, b in fake.calls if p == "search")
    assert body["bbox"][0] == pytest.approx(15.0, abs=0.01) and 40 < body["bbox"][1] < 41
    assert body["datetime"].endswith("/..")


def _dates_by_area(bbox):
    """Like Sentinel Hub's ORBIT scenes: which dates exist depends on the area (newest first)."""
    dates = ["2023-01-03T00:00:00Z"]
    if bbox[0] >= 2.0:
        dates.insert(0, "2023-01-05T00:00:00Z")
    if bbox[0] < 1.0:
        dates.append("2023-01-01T00:00:00Z")
    return dates


@pytest.mark.parametrize("memmap", [False, True])
async def test_split_merges_different_dates_per_tile(fake, make_client, tmp_path, memmap):
    fake.tile_dates = _dates_by_area
    sh = await make_client(split_threshold=100, tile_size=100, max_tiles_in_flight=2)
    sink = MemmapSink(tmp_path / "out.npy") if memmap else None
    raster = await sh.process_raster(req(300, 100, (0.0, 0.0, 3.0, 1.0), responses=2), sink=sink)
    days = ["2023-01-05T00:00:00Z", "2023-01-03T00:00:00Z", "2023-01-01T00:00:00Z"]
    assert raster.userdata == {"dates": days, "bands": ["A", "B"]}  # union, newest first like the tiles
    assert raster.data.shape == (6, 100, 300)
    base = expected((0.0, 0.0, 3.0, 1.0), 300, 100)
    want = np.full((6, 100, 300), np.nan, dtype=np.float32)
    want[0:2, :, 200:] = base[:, :, 200:] + 500  # 01-05 only in the right tile
    want[2:4] = base + 300  # 01-03 everywhere
    want[4:6, :, :100] = base[:, :, :100] + 100  # 01-01 only in the left tile
    np.testing.assert_array_equal(np.asarray(raster.data), want)
