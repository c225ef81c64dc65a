"""The emulator's deployments: base paths, realms, which collections each serves, per-deployment stats."""
from __future__ import annotations

import pytest

from sentinelhub_emulator import deployments

from .conftest import process_body, read_raster, sh_error

CDSE_TOKEN = "/cdse/auth/realms/CDSE/protocol/openid-connect/token"
L2 = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.B04, s.dataMask]; }
"""
S3 = """//VERSION=3
function setup() { return {input: ["B08", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.B08, s.dataMask]; }
"""


async def cdse_token(emu, cid="cdse-client", secret="cdse-secret"):
    return await emu.client.post(CDSE_TOKEN, data={"grant_type": "client_credentials", "client_id": cid,
                                                   "client_secret": secret})


@pytest.mark.parametrize("collection,served,refused", [
    ("landsat-ot-l2", "/uswest2", ""),
    ("sentinel-2-l2a", "", "/uswest2"),
    ("sentinel-3-olci", "/creodias", ""),
])
async def test_each_deployment_serves_only_its_collections(emu, collection, served, refused):
    script = S3 if collection == "sentinel-3-olci" else L2
    body = process_body(script, collection=collection)
    ok = await emu.process(body, deployment=served)
    assert ok.status == 200, await ok.text()
    err = await sh_error(await emu.process(body, deployment=refused), 400)
    assert "not available on this deployment" in err["message"]
    stats = await (await emu.client.get("/_emulator/stats")).json()
    name = deployments.split(served + "/")[0]
    assert stats["collections_by_deployment"][name][collection] == 1
    assert stats["requests_by_deployment"][name]["process 200"] == 1


async def test_main_fuses_a_remote_collection_but_us_west_does_not(emu):
    script = """//VERSION=3
function setup() { return {input: [{datasource: "s2", bands: ["B04"]}, {datasource: "l8", bands: ["B04"]}],
  output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.s2[0].B04, s.l8[0].B04]; }
"""
    body = process_body(script)
    body["input"]["data"] = [{"id": "s2", "type": "sentinel-2-l2a", "dataFilter": {"timeRange": process_body()["input"]["data"][0]["dataFilter"]["timeRange"]}},
                             {"id": "l8", "type": "landsat-ot-l2", "dataFilter": {"timeRange": process_body()["input"]["data"][0]["dataFilter"]["timeRange"]}}]
    assert (await emu.process(body)).status == 200
    await sh_error(await emu.process(body, deployment="/uswest2"), 400)


async def test_cdse_has_its_own_realm(emu):
    resp = await cdse_token(emu)
    assert resp.status == 200
    cdse = (await resp.json())["access_token"]
    assert (await cdse_token(emu, "demo-client", "demo-secret")).status == 401
    body = process_body()
    ok = await emu.client.post("/cdse/api/v1/process", json=body, headers={"Authorization": f"Bearer {cdse}"})
    assert ok.status == 200, await ok.text()
    # tokens are not interchangeable between realms
    await sh_error(await emu.client.post("/api/v1/process", json=body, headers={"Authorization": f"Bearer {cdse}"}), 401)
    await sh_error(await emu.process(body, deployment="/cdse"), 401)
    # main-realm tokens work on the other SH-run deployments
    assert (await emu.process(process_body(S3, collection="sentinel-3-olci"), deployment="/creodias")).status == 200


async def test_cdse_dem_has_no_mapzen_and_creodias_s1_starts_late(emu):
    dem = """//VERSION=3
function setup() { return {input: ["DEM"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.DEM]; }
"""
    token = (await (await cdse_token(emu)).json())["access_token"]
    body = process_body(dem, collection="dem")
    body["input"]["data"][0]["dataFilter"] = {"demInstance": "MAPZEN"}
    resp = await emu.client.post("/cdse/api/v1/process", json=body, headers={"Authorization": f"Bearer {token}"})
    await sh_error(resp, 400)
    s1 = """//VERSION=3
function setup() { return {input: ["VV", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.VV, s.dataMask]; }
"""
    body = process_body(s1, collection="sentinel-1-grd")  # June 2021: before S1 on CREODIAS
    data, *_ = read_raster(await (await emu.process(body, deployment="/creodias")).read())
    assert (data[1] == 0).all()
    data, *_ = read_raster(await (await emu.process(body)).read())
    assert (data[1] == 1).all()


async def test_catalog_searches_only_hosted_collections(emu):
    body = {"collections": ["landsat-ot-l2"], "datetime": "2021-06-01T00:00:00Z/2021-06-30T00:00:00Z", "limit": 5}
    h = await emu.auth()
    assert (await emu.client.post("/uswest2/api/v1/catalog/1.0.0/search", json=body, headers=h)).status == 200
    await sh_error(await emu.client.post("/api/v1/catalog/1.0.0/search", json=body, headers=h), 400)


async def test_a_remote_collection_counts_twice_in_the_fusion_factor(emu):
    script = """//VERSION=3
function setup() { return {input: [{datasource: "a", bands: ["B04"]}, {datasource: "b", bands: ["B04"]}],
  output: {bands: 2, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [0, 0]; }
"""
    time_range = process_body()["input"]["data"][0]["dataFilter"]["timeRange"]
    body = process_body(script)

    async def pu(second: str) -> float:
        body["input"]["data"] = [{"id": "a", "type": "sentinel-2-l2a", "dataFilter": {"timeRange": time_range}},
                                 {"id": "b", "type": second, "dataFilter": {"timeRange": time_range}}]
        resp = await emu.process(body)
        assert resp.status == 200, await resp.text()
        return float(resp.headers["x-processingunits-spent"])

    local, remote = await pu("sentinel-2-l1c"), await pu("landsat-ot-l2")
    assert remote == pytest.approx(local * 3 / 2)  # f_fusion 1 + 2 instead of 1 + 1
