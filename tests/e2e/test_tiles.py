"""Issue 7 'done when': XYZ services with the openeo client; tile pixels against the world."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import mercantile
import numpy as np
import pytest
import requests
from PIL import Image
from pyproj import Transformer

from tests.e2e.worldcheck import bands_at, day_interval, first_acquisition

ACQ = first_acquisition(date(2024, 8, 1))
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)


def scaled_b04_graph(connection, spatial_extent=None):
    cube = connection.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=spatial_extent,
        temporal_extent=day_interval(ACQ),
        bands=["B04"],
    )
    return cube.apply(lambda x: x.linear_scale_range(0, 0.25, 0, 255)).save_result("PNG")


@pytest.fixture
def service(connection):
    svc = connection.create_service(scaled_b04_graph(connection), type="XYZ", title="b04")
    yield svc
    svc.delete_service()


def tile_url(svc, z, x, y) -> str:
    return svc.describe_service()["url"].replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def expected_tile(z: int, x: int, y: int, size: int = 256) -> np.ndarray:
    b = mercantile.xy_bounds(x, y, z)
    step = (b.right - b.left) / size
    xs = b.left + (np.arange(size) + 0.5) * step
    ys = b.top - (np.arange(size) + 0.5) * step
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = TO_LONLAT.transform(gx, gy)
    values = bands_at(ACQ, lon, lat, "B04")["B04"]
    return np.clip(values / 0.25 * 255, 0, 255)


@pytest.mark.parametrize("zoom", [12, 14, 16])
def test_tile_pixels_match_the_world(service, zoom):
    t = mercantile.tile(14.01, 46.01, zoom)
    resp = requests.get(tile_url(service, t.z, t.x, t.y), timeout=60)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(resp.content)))
    band = image[..., 0] if image.ndim == 3 else image
    assert band.shape == (256, 256)
    diff = np.abs(band.astype(float) - expected_tile(t.z, t.x, t.y))
    assert np.percentile(diff, 99) <= 1.0


def test_zoom_zero_and_antimeridian_tiles(service):
    for z, x, y in [(0, 0, 0), (3, 0, 3), (3, 7, 3)]:
        resp = requests.get(tile_url(service, z, x, y), timeout=120)
        assert resp.status_code == 200, (z, x, y, resp.text[:300])
        assert Image.open(io.BytesIO(resp.content)).size == (256, 256)


def test_cache_hit_etag_and_304(service):
    t = mercantile.tile(14.01, 46.01, 13)
    url = tile_url(service, t.z, t.x, t.y)
    first = requests.get(url, timeout=60)
    etag = first.headers["ETag"]
    assert "max-age" in first.headers["Cache-Control"]
    second = requests.get(url, timeout=60)
    assert second.content == first.content and second.headers["ETag"] == etag
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=60).status_code == 304


def test_concurrent_requests_render_once(stack, service):
    t = mercantile.tile(14.012, 46.012, 15)
    url = tile_url(service, t.z, t.x, t.y)
    before = _process_calls(stack)
    with ThreadPoolExecutor(20) as pool:
        bodies = list(pool.map(lambda _: requests.get(url, timeout=60).content, range(20)))
    assert len(set(bodies)) == 1
    assert _process_calls(stack) - before == 1


def _process_calls(stack) -> int:
    stats = requests.get(stack.emulator_url + "/_emulator/stats", timeout=10).json()
    return sum(n for endpoint, n in stats["requests"].items() if "process" in endpoint)


@pytest.mark.parametrize("path", ["/1/2", "/a/0/0", "/0/x/0", "/3/9/0", "/-1/0/0", "/40/0/0"])
def test_bad_tile_coordinates_are_400(service, path):
    base = tile_url(service, 0, 0, 0).rsplit("/0/0/0", 1)[0]
    resp = requests.get(base + path, timeout=10)
    assert resp.status_code in (400, 404)
    if resp.status_code == 400:
        assert resp.json()["code"] and resp.json()["message"]
    else:
        assert path == "/1/2"


def test_hard_coded_extent_and_editing(connection):
    extent = {"west": 14.0, "south": 46.0, "east": 14.02, "north": 46.02}
    svc = connection.create_service(scaled_b04_graph(connection, extent), type="XYZ")
    try:
        inside = mercantile.tile(14.01, 46.01, 14)
        outside = mercantile.tile(-70.0, -20.0, 14)
        in_png = Image.open(io.BytesIO(requests.get(tile_url(svc, inside.z, inside.x, inside.y), timeout=60).content)).convert("RGBA")
        out_png = Image.open(io.BytesIO(requests.get(tile_url(svc, outside.z, outside.x, outside.y), timeout=60).content)).convert("RGBA")
        assert np.asarray(out_png)[..., 3].max() == 0
        assert np.asarray(in_png)[..., 3].max() == 255
        etag = requests.get(tile_url(svc, inside.z, inside.x, inside.y), timeout=60).headers["ETag"]
        headers = {"Authorization": f"Bearer {connection.auth.bearer}"}
        assert requests.patch(f"{connection.root_url.rstrip('/')}/services/{svc.service_id}", json={"enabled": False}, headers=headers, timeout=10).status_code == 204
        import time

        deadline = time.time() + 10
        status = 200
        while time.time() < deadline and status != 404:
            status = requests.get(tile_url(svc, inside.z, inside.x, inside.y), timeout=60).status_code
            time.sleep(0.5)
        assert status == 404
        assert requests.patch(f"{connection.root_url.rstrip('/')}/services/{svc.service_id}", json={"enabled": True, "title": "again"}, headers=headers, timeout=10).status_code == 204
        time.sleep(3)
        assert requests.get(tile_url(svc, inside.z, inside.x, inside.y), timeout=60).headers["ETag"] != etag
    finally:
        svc.delete_service()


def test_service_crud_with_the_client(connection):
    svc = connection.create_service(scaled_b04_graph(connection), type="XYZ", title="crud")
    listed = {s["id"] for s in connection.list_services()}
    assert svc.service_id in listed
    info = svc.describe_service()
    assert info["type"].upper() == "XYZ" and info["url"].startswith(connection.root_url)
    svc.delete_service()
    assert svc.service_id not in {s["id"] for s in connection.list_services()}
