"""The emulator's BYOC API and the rendering of its two demo collections, per owning account."""
from __future__ import annotations

import numpy as np

from sentinelhub_emulator import byoc, world

from .conftest import process_body, read_raster, sh_error

CLIENTS = {"demo-client": "demo-secret", "demo-client-2": "demo-secret-2"}
LC = f"byoc-{byoc.LANDCOVER_ID}"
SM = f"byoc-{byoc.SOIL_MOISTURE_ID}"


async def _emu_with_token(make_emu, client):
    emu = await make_emu(clients=CLIENTS)
    emu.token = await emu.get_token(client, CLIENTS[client])
    return emu


async def test_each_account_lists_and_reads_only_its_collections(make_emu):
    first = await _emu_with_token(make_emu, "demo-client")
    second = await _emu_with_token(make_emu, "demo-client-2")
    listed = await (await first.client.get("/api/v1/byoc/collections", headers=await first.auth())).json()
    assert [c["id"] for c in listed["data"]] == [byoc.LANDCOVER_ID]
    doc = listed["data"][0]
    assert doc["additionalData"]["bands"]["LC"]["bitDepth"] == 8
    one = await second.client.get(f"/api/v1/byoc/collections/{byoc.SOIL_MOISTURE_ID}", headers=await second.auth())
    assert (await one.json())["data"]["additionalData"]["bands"]["SM"]["sampleFormat"] == "FLOAT"
    await sh_error(await first.client.get(f"/api/v1/byoc/collections/{byoc.SOIL_MOISTURE_ID}",
                                          headers=await first.auth()), 404)
    tiles = await (await second.client.get(f"/api/v1/byoc/collections/{byoc.SOIL_MOISTURE_ID}/tiles",
                                           headers=await second.auth())).json()
    assert len(tiles["data"]) == 12
    glob = await (await first.client.get(f"/api/v1/byoc/global?ids={byoc.LANDCOVER_ID},{byoc.SOIL_MOISTURE_ID}",
                                         headers=await first.auth())).json()
    assert glob["data"] == [{"id": byoc.LANDCOVER_ID, "location": "aws-eu-central-1"}]


async def test_landcover_renders_for_its_owner_only(make_emu):
    script = """//VERSION=3
function setup() { return {input: ["LC", "dataMask"], output: {bands: 2, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [s.LC, s.dataMask]; }
"""
    bbox = (29.9, 45.0, 30.1, 45.05)  # crosses the east edge of the collection's extent
    body = process_body(script, bbox=bbox, collection=LC,
                        time_range={"from": "2020-06-01T00:00:00Z", "to": "2021-06-30T00:00:00Z"})
    owner = await _emu_with_token(make_emu, "demo-client")
    data, *_ = read_raster(await (await owner.process(body)).read())
    lon, lat = world.pixel_centers_lonlat(bbox, None, 40, 20)
    d = world.acquisition_dates(LC, world.datetime(2021, 1, 1, tzinfo=world.UTC), world.datetime(2021, 1, 2, tzinfo=world.UTC))[0]
    want = world.band_values(LC, ["LC", "dataMask"], d, lon, lat)
    np.testing.assert_array_equal(data[0], want["LC"].astype(np.uint8))
    np.testing.assert_array_equal(data[1], want["dataMask"])
    assert set(np.unique(data[0][:, :20])) <= {10, 20, 30, 40, 50, 60, 80} and (data[1][:, 30:] == 0).all()
    other = await _emu_with_token(make_emu, "demo-client-2")
    await sh_error(await other.process(body), 400)
    await sh_error(await owner.process(body, deployment="/uswest2"), 400)


async def test_soil_moisture_is_float_with_nan_over_water(make_emu):
    script = """//VERSION=3
function setup() { return {input: ["SM", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.SM, s.dataMask]; }
"""
    body = process_body(script, bbox=(0.0, 40.0, 2.0, 41.0), collection=SM,
                        time_range={"from": "2022-03-01T00:00:00Z", "to": "2022-03-31T00:00:00Z"})
    emu = await _emu_with_token(make_emu, "demo-client-2")
    data, *_ = read_raster(await (await emu.process(body)).read())
    land = data[1] == 1
    assert land.any() and (~land).any()
    assert np.isnan(data[0][~land]).all() and (0 < data[0][land]).all() and (data[0][land] < 0.6).all()


async def test_the_catalog_lists_a_byoc_collections_tiles_for_its_owner_only(make_emu):
    owner = await _emu_with_token(make_emu, "demo-client-2")
    search = "/api/v1/catalog/1.0.0/search"
    body = {"collections": [SM], "datetime": "2022-03-01T00:00:00Z/2022-08-31T23:59:59Z", "bbox": [10, 45, 11, 46]}
    found = await (await owner.client.post(search, json=body, headers=await owner.auth())).json()
    expected = [t["sensingTime"][:10] for t in byoc.tiles(byoc.SOIL_MOISTURE_ID)
                if "2022-03-01" <= t["sensingTime"][:10] <= "2022-08-31"]
    assert [f["properties"]["datetime"][:10] for f in found["features"]] == expected and len(expected) == 6
    assert found["features"][0]["collection"] == SM
    assert found["features"][0]["bbox"] == list(byoc.EXTENT)
    days = await (await owner.client.post(search, json={**body, "distinct": "date"}, headers=await owner.auth())).json()
    assert days["features"] == expected
    outside = await (await owner.client.post(search, json={**body, "bbox": [100, 10, 101, 11]},
                                             headers=await owner.auth())).json()
    assert outside["features"] == []
    await sh_error(await owner.client.post(search, json={**body, "filter": "eo:cloud_cover < 10"},
                                           headers=await owner.auth()), 400)
    other = await _emu_with_token(make_emu, "demo-client")
    await sh_error(await other.client.post(search, json=body, headers=await other.auth()), 400)
    await sh_error(await owner.client.post("/uswest2" + search, json=body, headers=await owner.auth()), 400)
