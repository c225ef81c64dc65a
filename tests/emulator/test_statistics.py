"""Statistical API of the emulator: statistics equal numpy's over the Process API's pixels of the
same evalscript, intervals, masks, calculations, errors, PU and counters."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from sentinelhub_emulator import world
from sentinelhub_emulator.statistics import intervals, parse_interval

from .conftest import UTM33, process_body, read_raster, sh_error

S2 = "sentinel-2-l2a"
BBOX = (500000.0, 5000000.0, 500400.0, 5000200.0)
POLY = {"type": "Polygon", "coordinates": [[[500030.0, 5000020.0], [500370.0, 5000050.0], [500200.0, 5000190.0],
                                            [500030.0, 5000020.0]]]}

# NDVI per output with its own mask, and the red band, as the compiler writes them
STATS_SCRIPT = """//VERSION=3
function setup(){return {input:[{bands:["B04","B08","dataMask"]}],
  output:[{id:"ndvi",bands:1,sampleType:"FLOAT32"},{id:"red",bands:["B04"],sampleType:"FLOAT32"},
          {id:"dataMask",bands:["ndvi","red"]}]};}
function evaluatePixel(s){var v=(s.B08-s.B04)/(s.B08+s.B04);
  return {ndvi:[v],red:[s.B04],dataMask:[s.dataMask&&v===v?1:0,s.dataMask]};}
"""
PIXELS_SCRIPT = """//VERSION=3
function setup(){return {input:[{bands:["B04","B08","dataMask"]}],output:{bands:3,sampleType:"FLOAT32"}};}
function evaluatePixel(s){return [(s.B08-s.B04)/(s.B08+s.B04),s.B04,s.dataMask];}
"""


def stats_body(script=STATS_SCRIPT, *, bbox=BBOX, geometry=None, t_from="2021-06-01T00:00:00Z",
               t_to="2021-06-11T00:00:00Z", of="P1D", behaviour=None, calculations=None, **grid) -> dict:
    bounds = {"bbox": list(bbox), "properties": {"crs": UTM33}}
    if geometry is not None:
        bounds["geometry"] = geometry
    interval = {"of": of} | ({"lastIntervalBehavior": behaviour} if behaviour else {})
    body = {"input": {"bounds": bounds, "data": [{"type": S2, "dataFilter": {"mosaickingOrder": "mostRecent"}}]},
            "aggregation": {"timeRange": {"from": t_from, "to": t_to}, "aggregationInterval": interval,
                            "evalscript": script, **(grid or {"width": 40, "height": 20})}}
    if calculations is not None:
        body["calculations"] = calculations
    return body


async def post_stats(emu, body):
    return await emu.client.post("/api/v1/statistics", json=body, headers=await emu.auth())


def test_intervals_behaviours():
    t0 = datetime(2020, 1, 1, tzinfo=timezone.utc)
    t1 = datetime(2020, 12, 31, tzinfo=timezone.utc)
    assert len(intervals(t0, t1, parse_interval("P30D"))) == 12
    assert intervals(t0, t1, parse_interval("P30D"))[1] == (datetime(2020, 1, 31, tzinfo=timezone.utc),
                                                             datetime(2020, 3, 1, tzinfo=timezone.utc))
    shortened = intervals(t0, t1, timedelta(days=30), "SHORTEN")
    assert len(shortened) == 13 and shortened[-1][1] == t1
    extended = intervals(t0, t1, timedelta(days=30), "EXTEND")
    assert extended[-1][1] - extended[-1][0] == timedelta(days=30) and extended[-1][1] > t1
    assert parse_interval("P2W") == timedelta(days=14)


async def test_statistics_equal_process_api_pixels(emu):
    calc = {"default": {"statistics": {"default": {"percentiles": {"k": [10, 50, 90]}}},
                        "histograms": {"default": {"nBins": 4, "lowEdge": -1.0, "highEdge": 1.0}}}}
    resp = await post_stats(emu, stats_body(geometry=POLY, calculations=calc))
    assert resp.status == 200, await resp.text()
    assert float(resp.headers["x-processingunits-spent"]) > 0
    doc = await resp.json()
    assert doc["status"] == "OK"
    days = [d.date() for d in world.acquisition_dates(S2, datetime(2021, 6, 1, tzinfo=timezone.utc),
                                                      datetime(2021, 6, 10, 23, 59, tzinfo=timezone.utc))]
    # one interval per day with an acquisition, in time order
    assert [item["interval"]["from"][:10] for item in doc["data"]] == [str(d) for d in days]
    assert days, "the world has acquisitions in the first days of June 2021"
    for item in doc["data"]:
        day = item["interval"]["from"]
        end = (datetime.fromisoformat(day.replace("Z", "+00:00")) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert item["interval"]["to"] == end
        pix = await emu.process(process_body(PIXELS_SCRIPT, bbox=BBOX, crs=UTM33, width=40, height=20,
                                             time_range={"from": day, "to": end}, geometry=POLY))
        assert pix.status == 200, await pix.text()
        data = read_raster(await pix.read())[0].astype(np.float64)
        ndvi, red, mask = data[0].ravel(), data[1].ravel(), data[2].ravel() != 0
        assert set(item["outputs"]) == {"ndvi", "red"}  # dataMask is not reported
        for values, valid, st in ((ndvi, mask & np.isfinite(ndvi), item["outputs"]["ndvi"]["bands"]["B0"]),
                                  (red, mask, item["outputs"]["red"]["bands"]["B04"])):
            stats = st["stats"]
            v = values[valid]
            assert stats["sampleCount"] == 800 and stats["noDataCount"] == 800 - v.size
            assert 0 < v.size < 800  # the polygon masks part of the box
            assert stats["mean"] == pytest.approx(v.mean(), rel=1e-6)
            assert stats["min"] == pytest.approx(v.min(), rel=1e-6)
            assert stats["max"] == pytest.approx(v.max(), rel=1e-6)
            assert stats["stDev"] == pytest.approx(v.std(ddof=1), rel=1e-5)
            assert list(stats["percentiles"]) == ["10.0", "50.0", "90.0"]
            assert stats["percentiles"]["50.0"] == pytest.approx(np.median(v), rel=1e-6)
            hist = st["histogram"]
            assert [b["lowEdge"] for b in hist["bins"]] == [-1.0, -0.5, 0.0, 0.5]
            inside = sum(b["count"] for b in hist["bins"])
            assert inside + hist["overflowCount"] + hist["underflowCount"] == v.size


async def test_all_masked_gives_nan_strings_and_counters(emu):
    script = STATS_SCRIPT.replace("dataMask:[s.dataMask&&v===v?1:0,s.dataMask]", "dataMask:[0,0]")
    await emu.client.delete("/_emulator/stats")
    resp = await post_stats(emu, stats_body(script, t_to="2021-06-30T00:00:00Z", of="P10D", width=4, height=2))
    assert resp.status == 200, await resp.text()
    doc = await resp.json()
    assert len(doc["data"]) == 2  # 29 days of P10D, the remainder skipped
    stats = doc["data"][0]["outputs"]["ndvi"]["bands"]["B0"]["stats"]
    assert stats["mean"] == "NaN" and stats["min"] == "NaN" and stats["noDataCount"] == stats["sampleCount"] == 8
    counters = await (await emu.client.get("/_emulator/stats")).json()
    assert counters["requests"]["statistics"] == 1
    assert counters["pu_spent"] >= 0.01


async def test_resx_grid_and_single_mask(emu):
    script = """//VERSION=3
function setup(){return {input:["B04","dataMask"],output:[{id:"default",bands:1},{id:"dataMask",bands:1}]};}
function evaluatePixel(s){return {default:[s.B04],dataMask:[s.dataMask]};}
"""
    resp = await post_stats(emu, stats_body(script, t_to="2021-06-05T00:00:00Z", of="P4D", resx=20, resy=20))
    doc = await resp.json()
    assert resp.status == 200, doc
    assert doc["data"][0]["outputs"]["default"]["bands"]["B0"]["stats"]["sampleCount"] == 20 * 10


@pytest.mark.parametrize("change,message", [
    (lambda b: b["aggregation"].pop("timeRange"), "timeRange"),
    (lambda b: b["aggregation"]["aggregationInterval"].update(of="P1DT12H"), "aggregationInterval.of"),
    (lambda b: b["aggregation"]["aggregationInterval"].update(lastIntervalBehavior="ROUND"), "lastIntervalBehavior"),
    (lambda b: b["aggregation"].update(width=3000), "larger than allowed"),
    (lambda b: b["aggregation"].update(resx=10, resy=10), "not both"),
    (lambda b: b.update(calculations={"ndvi": {"histograms": {"default": {"nBins": 3, "bins": [0, 1]}}}}), "exactly one"),
    (lambda b: b["aggregation"].update(evalscript=STATS_SCRIPT.replace('{id:"dataMask",bands:["ndvi","red"]}', '')
                                       .replace(",dataMask:[s.dataMask&&v===v?1:0,s.dataMask]", "")), "dataMask"),
])
async def test_invalid_requests_are_400(emu, change, message):
    body = stats_body(width=4, height=2, t_to="2021-06-02T00:00:00Z")
    change(body)
    err = await sh_error(await post_stats(emu, body), 400)
    assert message in err["message"]
