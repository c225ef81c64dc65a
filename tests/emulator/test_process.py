"""Process API outputs checked against sentinelhub_emulator.world recomputed with numpy."""
from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import aiohttp
import numpy as np
import pytest
from PIL import Image

from sentinelhub_emulator import world

from .conftest import JUNE, NDVI, UTM33, process_body, read_raster, read_tar

S2 = "sentinel-2-l2a"
T0 = datetime(2021, 6, 1, tzinfo=timezone.utc)
T1 = datetime(2021, 6, 30, 23, 59, 59, tzinfo=timezone.utc)


def ndvi(v):
    return (v["B08"] - v["B04"]) / (v["B08"] + v["B04"])


@pytest.mark.parametrize("crs,bbox", [
    (None, (13.0, 45.0, 13.02, 45.01)),
    ("http://www.opengis.net/def/crs/EPSG/0/4326", (13.0, 45.0, 13.02, 45.01)),
    (UTM33, (500000.0, 5000000.0, 500400.0, 5000200.0)),
    ("http://www.opengis.net/def/crs/EPSG/0/3857", (1447153.0, 5621521.0, 1447553.0, 5621721.0)),
    ("http://www.opengis.net/def/crs/EPSG/0/32733", (500000.0, 7000000.0, 500400.0, 7000200.0)),
])
async def test_ndvi_tiff_matches_world(emu, crs, bbox):
    resp = await emu.process(process_body(NDVI, bbox=bbox, crs=crs, width=40, height=20))
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "image/tiff"
    data, profile, transform, rcrs = read_raster(await resp.read())
    assert data.shape == (1, 20, 40) and data.dtype == np.float32
    assert rcrs.to_epsg() == world.parse_crs(crs)
    assert transform.c == bbox[0] and transform.f == bbox[3]
    assert transform.a == pytest.approx((bbox[2] - bbox[0]) / 40) and transform.e == pytest.approx(-(bbox[3] - bbox[1]) / 20)
    assert profile.get("nodata") is None
    lon, lat = world.pixel_centers_lonlat(bbox, crs, 40, 20)
    date = world.acquisition_dates(S2, T0, T1)[-1]  # SIMPLE mostRecent
    expected = ndvi(world.band_values(S2, ["B04", "B08"], date, lon, lat)).astype(np.float32)
    np.testing.assert_array_equal(data[0], expected)
    pu = float(resp.headers["x-processingunits-spent"])
    assert pu == pytest.approx(max(0.01, 40 * 20 / 512 ** 2) * (2 / 3) * 2)  # 2 bands, FLOAT32 TIFF


async def test_mosaicking_order_and_max_cloud_coverage(emu):
    script = NDVI.replace("sampleType: \"FLOAT32\"", "sampleType: \"FLOAT32\", nodataValue: -9")
    dates = world.acquisition_dates(S2, T0, T1)
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.02, 45.01), None, 40, 20)
    for order, pick in (("leastRecent", dates[0]),
                        ("leastCC", min(dates, key=lambda d: world.scene_cloud_cover(S2, d)))):
        body = process_body(script)
        body["input"]["data"][0]["dataFilter"]["mosaickingOrder"] = order
        resp = await emu.process(body)
        data, profile, *_ = read_raster(await resp.read())
        assert profile["nodata"] == -9
        np.testing.assert_array_equal(data[0], ndvi(world.band_values(S2, ["B04", "B08"], pick, lon, lat)).astype(np.float32))
    body = process_body(script)
    body["input"]["data"][0]["dataFilter"]["maxCloudCoverage"] = 30
    clear = [d for d in dates if world.scene_cloud_cover(S2, d) <= 30]
    data, *_ = read_raster(await (await emu.process(body)).read())
    np.testing.assert_array_equal(data[0], ndvi(world.band_values(S2, ["B04", "B08"], clear[-1], lon, lat)).astype(np.float32))


async def test_dn_units_and_geometry_mask_and_multipart(emu):
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}],
                           output: {bands: 2, sampleType: "UINT16"}}; }
function evaluatePixel(s, scenes, meta) { return [s.B04, s.dataMask + meta.normalizationFactor * 10]; }
"""
    geom = {"type": "Polygon", "coordinates": [[[13.0, 45.0], [13.02, 45.0], [13.0, 45.01], [13.0, 45.0]]]}
    body = process_body(script, geometry=geom)
    req = {k: v for k, v in body.items() if k != "evalscript"}
    form = aiohttp.FormData()
    form.add_field("request", json.dumps(req), content_type="application/json")
    form.add_field("evalscript", script, content_type="text/plain")
    resp = await emu.client.post("/api/v1/process", data=form, headers=await emu.auth())
    assert resp.status == 200, await resp.text()
    data, profile, *_ = read_raster(await resp.read())
    assert data.dtype == np.uint16
    x, y = world.pixel_centers((13.0, 45.0, 13.02, 45.01), 40, 20)
    inside = (x - 13.0) / 0.02 + (y - 45.0) / 0.01 < 1.0  # below the triangle's hypotenuse
    date = world.acquisition_dates(S2, T0, T1)[-1]
    dn = world.band_value(S2, "B04", date, x, y, units="DN")
    np.testing.assert_array_equal(data[0], np.where(inside, dn, 0))
    np.testing.assert_array_equal(data[1], np.where(inside, 11, 10))  # normalizationFactor is 1 for DN
    assert 0 < inside.sum() < inside.size


async def test_png_auto_and_accept_override(emu):
    script = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04"], output: {bands: 3}}; }
function evaluatePixel(s) { return [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02]; }
"""
    body = process_body(script, responses=[{"identifier": "default", "format": {"type": "image/png"}}])
    resp = await emu.process(body)
    assert resp.status == 200 and resp.content_type == "image/png"
    img = np.asarray(Image.open(io.BytesIO(await resp.read())))
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.02, 45.01), None, 40, 20)
    v = world.band_values(S2, ["B02", "B03", "B04"], world.acquisition_dates(S2, T0, T1)[-1], lon, lat)
    exp = np.clip(np.floor(2.5 * np.stack([v["B04"], v["B03"], v["B02"]], -1) * 255 + 0.5), 0, 255)
    np.testing.assert_array_equal(img, exp.astype(np.uint8))
    resp = await emu.process(body, headers={"Accept": "image/jpeg"})
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(await resp.read())).size == (40, 20)


ORBIT_SCRIPT = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "B08"]}], mosaicking: "ORBIT",
                           output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "count", bands: 1, sampleType: "UINT8"}]}; }
var seen = 0;
function updateOutput(outputs, collection) { outputs.ndvi.bands = collection.scenes.length; }
function evaluatePixel(samples, scenes) {
  seen++;
  var r = [];
  for (var i = 0; i < samples.length; i++) r.push(index(samples[i].B08, samples[i].B04));
  return {ndvi: r, count: [scenes.orbits.length]};
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {dates: scenes.map(function (s) { return s.date.toISOString(); }),
                             froms: scenes.orbits.map(function (s) { return s.dateFrom; }), pixels: seen};
}
"""


async def test_orbit_tar_with_userdata(emu):
    body = process_body(ORBIT_SCRIPT, responses=[
        {"identifier": "ndvi", "format": {"type": "image/tiff"}},
        {"identifier": "count", "format": {"type": "image/png"}},
        {"identifier": "userdata", "format": {"type": "application/json"}}])
    resp = await emu.process(body, headers={"Accept": "application/tar"})
    assert resp.status == 200, await resp.text()
    members = read_tar(await resp.read())
    assert set(members) == {"ndvi.tif", "count.png", "userdata.json"}
    dates = list(reversed(world.acquisition_dates(S2, T0, T1)))  # most recent first
    ud = json.loads(members["userdata.json"])
    assert ud["dates"] == [d.strftime("%Y-%m-%dT%H:%M:%S.000Z") for d in dates]
    assert ud["froms"] == [d.strftime("%Y-%m-%dT00:00:00Z") for d in dates]
    assert ud["pixels"] == 40 * 20
    data, *_ = read_raster(members["ndvi.tif"])
    assert data.shape == (len(dates), 20, 40)
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.02, 45.01), None, 40, 20)
    for k, d in enumerate(dates):
        np.testing.assert_array_equal(data[k], ndvi(world.band_values(S2, ["B04", "B08"], d, lon, lat)).astype(np.float32))
    count = np.asarray(Image.open(io.BytesIO(members["count.png"])))
    assert (count == len(dates)).all()
    pu = float(resp.headers["x-processingunits-spent"])
    assert pu == pytest.approx(max(0.01, 800 / 512 ** 2) * (2 / 3) * 2 * len(dates))


async def test_preprocess_scenes_filters_orbits(emu):
    script = ORBIT_SCRIPT.replace("var seen = 0;", """var seen = 0;
function preProcessScenes(collections) {
  collections.scenes.orbits = collections.scenes.orbits.filter(function (o) { return o.dateFrom < "2021-06-15"; });
  return collections;
}""")
    body = process_body(script, responses=[{"identifier": "ndvi", "format": {"type": "image/tiff"}},
                                           {"identifier": "userdata", "format": {"type": "application/json"}}])
    members = read_tar(await (await emu.process(body)).read())
    kept = [d for d in reversed(world.acquisition_dates(S2, T0, T1)) if d.day < 15]
    assert json.loads(members["userdata.json"])["froms"] == [d.strftime("%Y-%m-%dT00:00:00Z") for d in kept]
    assert read_raster(members["ndvi.tif"])[0].shape[0] == len(kept)


async def test_data_fusion_s2_s1(emu):
    script = """//VERSION=3
function setup() {
  return {input: [{datasource: "s2", bands: ["B04", "B08"]}, {datasource: "s1", bands: ["VV", "VH", "dataMask"]}],
          output: {bands: 4, sampleType: "FLOAT32"}};
}
function evaluatePixel(samples) {
  var a = samples.s2[0], b = samples.s1[0];
  return [index(a.B08, a.B04), b.VV, b.VH, samples.s1.length + 10 * samples.s2.length];
}
"""
    body = process_body(script)
    body["input"]["data"] = [
        {"id": "s2", "type": "sentinel-2-l2a", "dataFilter": {"timeRange": JUNE}},
        {"id": "s1", "type": "sentinel-1-grd", "dataFilter": {"timeRange": JUNE}, "processing": {"orthorectify": True}}]
    resp = await emu.process(body)
    assert resp.status == 200, await resp.text()
    data, *_ = read_raster(await resp.read())
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.02, 45.01), None, 40, 20)
    s2d = world.acquisition_dates(S2, T0, T1)[-1]
    s1d = world.acquisition_dates("sentinel-1-grd", T0, T1)[-1]
    s1 = world.band_values("sentinel-1-grd", ["VV", "VH"], s1d, lon, lat)
    np.testing.assert_array_equal(data[0], ndvi(world.band_values(S2, ["B04", "B08"], s2d, lon, lat)).astype(np.float32))
    np.testing.assert_array_equal(data[1], s1["VV"].astype(np.float32))
    np.testing.assert_array_equal(data[2], s1["VH"].astype(np.float32))
    assert (data[3] == 11).all()
    pu = float(resp.headers["x-processingunits-spent"])
    assert pu == pytest.approx(0.01 * (4 / 3) * 2 * 2 * 2)  # float tiff, 2 collections, orthorectified S1


@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
async def test_sentinel1_orbit_direction_filter(emu, direction):
    body = process_body(ORBIT_SCRIPT.replace('"B04", "B08"', '"VV", "VH"').replace("index(samples[i].B08, samples[i].B04)", "samples[i].VV"),
                        responses=[{"identifier": "userdata", "format": {"type": "application/json"}}])
    body["input"]["data"] = [{"type": "sentinel-1-grd", "dataFilter": {"timeRange": JUNE, "orbitDirection": direction}}]
    resp = await emu.process(body)
    assert resp.status == 200, await resp.text()
    got = json.loads(read_tar(await resp.read())["userdata.json"])["dates"] if resp.content_type == "application/x-tar" \
        else json.loads(await resp.read())["dates"]
    expected = [d for d in reversed(world.acquisition_dates("sentinel-1-grd", T0, T1))
                if world.orbit_state("sentinel-1-grd", d) == direction.lower()]
    assert got == [d.strftime("%Y-%m-%dT%H:%M:%S.000Z") for d in expected] and len(expected) >= 4
    bad = process_body(NDVI)
    bad["input"]["data"][0]["dataFilter"]["orbitDirection"] = direction  # not for Sentinel-2
    assert (await emu.process(bad)).status == 400
    body["input"]["data"][0]["dataFilter"]["orbitDirection"] = "sideways"
    assert (await emu.process(body)).status == 400


async def test_landsat_nodata_is_nan_outside_geometry_and_dem(emu):
    script = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.B04, s.dataMask]; }
"""
    geom = {"type": "Polygon", "coordinates": [[[13.0, 45.0], [13.01, 45.0], [13.01, 45.01], [13.0, 45.01], [13.0, 45.0]]]}
    body = process_body(script, collection="landsat-ot-l2", geometry=geom)
    data, *_ = read_raster(await (await emu.process(body, deployment="/uswest2")).read())
    assert np.isnan(data[0][:, 20:]).all() and (data[1][:, 20:] == 0).all()
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.02, 45.01), None, 40, 20)
    d = world.acquisition_dates("landsat-ot-l2", T0, T1)[-1]
    np.testing.assert_array_equal(data[0][:, :20], world.band_value("landsat-ot-l2", "B04", d, lon, lat)[:, :20].astype(np.float32))
    dem = """//VERSION=3
function setup() { return {input: ["DEM"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.DEM]; }
"""
    body = process_body(dem, collection="dem", bbox=(7.0, 46.0, 8.0, 46.5))
    del body["input"]["data"][0]["dataFilter"]
    data, *_ = read_raster(await (await emu.process(body)).read())
    lon, lat = world.pixel_centers_lonlat((7.0, 46.0, 8.0, 46.5), None, 40, 20)
    np.testing.assert_array_equal(data[0], world.band_value("dem", "DEM", None, lon, lat).astype(np.float32))
    assert 0 <= data.min() and data.max() <= 3000


async def test_resx_resy_size(emu):
    body = process_body(NDVI, bbox=(500000.0, 5000000.0, 500400.0, 5000200.0), crs=UTM33)
    body["output"] = {"resx": 10, "resy": 10, "responses": body["output"]["responses"]}
    data, *_ = read_raster(await (await emu.process(body)).read())
    assert data.shape == (1, 20, 40)


async def test_chunked_rendering_is_identical_and_keeps_script_state(make_emu):
    small = await make_emu(render_chunk_values=3 * 6 * 40 * 3)  # ORBIT: 6 scenes × 2 bands → 3-4 rows per chunk
    big = await make_emu()
    body = process_body(ORBIT_SCRIPT, responses=[{"identifier": "ndvi", "format": {"type": "image/tiff"}},
                                                 {"identifier": "userdata", "format": {"type": "application/json"}}])
    a = read_tar(await (await small.process(body)).read())
    b = read_tar(await (await big.process(body)).read())
    assert json.loads(a["userdata.json"])["pixels"] == 800  # the script's global counter spans all chunks
    np.testing.assert_array_equal(read_raster(a["ndvi.tif"])[0], read_raster(b["ndvi.tif"])[0])


async def test_tile_mosaicking_exposes_tiles_with_cloud_coverage(emu):
    script = """//VERSION=3
function setup() { return {input: ["B04"], mosaicking: Mosaicking.TILE, output: {bands: 1, sampleType: "FLOAT32"}}; }
function preProcessScenes(collections) {
  collections.scenes.tiles = collections.scenes.tiles.filter(function (t) { return t.cloudCoverage < 50; });
  return collections;
}
function evaluatePixel(samples, scenes) { return [samples.length ? samples[samples.length - 1].B04 : -1]; }
function updateOutputMetadata(scenes, im, om) {
  om.userData = scenes.tiles.map(function (t) { return [t.tiles[0].date, t.cloudCoverage]; });
}
"""
    body = process_body(script, responses=[{"identifier": "default", "format": {"type": "image/tiff"}},
                                           {"identifier": "userdata", "format": {"type": "application/json"}}])
    members = read_tar(await (await emu.process(body)).read())
    kept = [d for d in reversed(world.acquisition_dates(S2, T0, T1)) if world.scene_cloud_cover(S2, d) < 50]
    assert json.loads(members["userdata.json"]) == [[d.strftime("%Y-%m-%dT%H:%M:%SZ"), world.scene_cloud_cover(S2, d)]
                                                    for d in kept]
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.02, 45.01), None, 40, 20)
    np.testing.assert_array_equal(read_raster(members["default.tif"])[0][0],
                                  world.band_value(S2, "B04", kept[-1], lon, lat).astype(np.float32))


async def test_multipart_mixed_response(emu):
    body = process_body(ORBIT_SCRIPT, responses=[{"identifier": "count", "format": {"type": "image/png"}},
                                                 {"identifier": "userdata", "format": {"type": "application/json"}}])
    resp = await emu.process(body, headers={"Accept": "multipart/mixed"})
    assert resp.status == 200 and resp.content_type == "multipart/mixed"
    reader = aiohttp.MultipartReader.from_response(resp)
    parts = {}
    while (part := await reader.next()) is not None:
        parts[part.filename] = (part.headers["Content-Type"], await part.read())
    assert set(parts) == {"count.png", "userdata.json"}
    assert parts["count.png"][0] == "image/png"
    assert json.loads(parts["userdata.json"][1])["pixels"] == 800
