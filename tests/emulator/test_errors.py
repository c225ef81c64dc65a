"""Evalscript failures and request validation give Sentinel Hub's error bodies, never a hang."""
from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import NDVI, UTM33, process_body, sh_error

SETUP = 'function setup() { return {input: ["B04", "B08"], output: {bands: 1, sampleType: "FLOAT32"}}; }\n'


@pytest.mark.parametrize("script,fragment", [
    ("//VERSION=3\nfunction setup( { return 1; }\n", "SyntaxError"),
    ("//VERSION=3\nfunction evaluatePixel(s) { return [1]; }\n", "setup()"),
    ("//VERSION=3\n" + SETUP, "evaluatePixel()"),
    ("//VERSION=3\n" + SETUP + "function evaluatePixel(s) { return [s.B04, s.B08]; }\n", "returned 2"),
    ("//VERSION=3\n" + SETUP + "function evaluatePixel(s) { throw new Error('boom ' + s.B04.toFixed(0)); }\n", "boom 0"),
    ("//VERSION=3\n" + SETUP + "function evaluatePixel(s) { return [undefinedThing.x]; }\n", "ReferenceError"),
    ("//VERSION=3\nfunction setup() { return {input: [\"B99\"], output: {bands: 1}}; }\n"
     "function evaluatePixel(s) { return [1]; }\n", "B99"),
    ("//VERSION=3\nfunction setup() { return {input: [{bands: [\"B04\"], units: \"FURLONGS\"}], output: {bands: 1}}; }\n"
     "function evaluatePixel(s) { return [1]; }\n", "FURLONGS"),
])
async def test_broken_scripts_are_renderer_exceptions(emu, script, fragment):
    err = await sh_error(await emu.process(process_body(script)), 400, "RENDERER_EXCEPTION")
    assert err["reason"] == "Bad Request"
    assert fragment in err["message"]


async def test_empty_orbit_samples(emu):
    naive = """//VERSION=3
function setup() { return {input: ["B04"], mosaicking: "ORBIT", output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(samples) { return [samples[0].B04]; }
"""
    no_data = {"from": "2021-06-02T00:00:00Z", "to": "2021-06-05T23:59:59Z"}  # between two S2 acquisitions
    err = await sh_error(await emu.process(process_body(naive, time_range=no_data)), 400, "RENDERER_EXCEPTION")
    assert "TypeError" in err["message"]
    careful = naive.replace("return [samples[0].B04];", "return [samples.length === 0 ? -1 : samples[0].B04];")
    resp = await emu.process(process_body(careful, time_range=no_data))
    assert resp.status == 200


async def test_infinite_loop_hits_time_limit_and_pool_recovers(make_emu):
    emu = await make_emu(script_timeout_s=1.0)
    loop = "//VERSION=3\n" + SETUP + "function evaluatePixel(s) { while (true) {} }\n"
    t0 = time.monotonic()
    err = await sh_error(await emu.process(process_body(loop)), 400, "RENDERER_EXCEPTION")
    assert "time limit" in err["message"]
    assert time.monotonic() - t0 < 10
    assert (await emu.process(process_body(NDVI))).status == 200
    setup_loop = "//VERSION=3\nwhile (true) {}\n" + SETUP + "function evaluatePixel(s) { return [1]; }\n"
    await sh_error(await emu.process(process_body(setup_loop)), 400, "RENDERER_EXCEPTION")


async def test_memory_hog_is_stopped(make_emu):
    emu = await make_emu(script_max_memory=64 * 1024 * 1024, script_timeout_s=20)
    hog = "//VERSION=3\n" + SETUP + "var keep = [];\nfunction evaluatePixel(s) { while (true) keep.push(new Array(10000).fill(s.B04)); }\n"
    err = await sh_error(await emu.process(process_body(hog)), 400, "RENDERER_EXCEPTION")
    assert "memory" in err["message"] or "time limit" in err["message"]
    assert (await emu.process(process_body(NDVI))).status == 200


async def test_no_global_leaks_between_requests(make_emu):
    emu = await make_emu(v8_pool_size=1, workers=1)
    polluter = "//VERSION=3\n" + SETUP + "leaked = 41;\nfunction evaluatePixel(s) { leaked = 42; return [1]; }\n"
    assert (await emu.process(process_body(polluter))).status == 200
    probe = "//VERSION=3\n" + SETUP + "function evaluatePixel(s) { return [typeof leaked === 'undefined' ? 7 : leaked]; }\n"
    from .conftest import read_raster

    data, *_ = read_raster(await (await emu.process(process_body(probe))).read())
    assert (data == 7).all()
    proto = "//VERSION=3\n" + SETUP + "Array.prototype.evil = 1;\nfunction evaluatePixel(s) { return [1]; }\n"
    assert (await emu.process(process_body(proto))).status == 200
    probe2 = "//VERSION=3\n" + SETUP + "function evaluatePixel(s) { return [[].evil === undefined ? 3 : 9]; }\n"
    data, *_ = read_raster(await (await emu.process(process_body(probe2))).read())
    assert (data == 3).all()


@pytest.mark.parametrize("mutate,fragment", [
    (lambda b: b["output"].update(width=2501), "`width = 2501` is larger than allowed 2500."),
    (lambda b: b["output"].update(height=0), "`height = 0`"),
    (lambda b: (b["output"].pop("width"), b["output"].pop("height"),
                b["output"].update(resx=0.000001, resy=0.00001)), "`width = 20000`, calculated from resx, is larger than allowed 2500."),
    (lambda b: b["input"]["data"][0].update(type="sentinel-9-xyz"), "sentinel-9-xyz"),
    (lambda b: b["input"]["bounds"].update(properties={"crs": "http://www.opengis.net/def/crs/EPSG/0/12345"}), "CRS"),
    (lambda b: b["input"]["data"][0]["dataFilter"].update(timeRange={"from": "2021-06-01", "to": "2021-06-30"}), "timeRange"),
    (lambda b: b["input"]["bounds"].pop("bbox"), "bbox or a geometry"),
    (lambda b: b.update(evalscript="function setup(){}"), "VERSION=3"),
    (lambda b: b["output"].update(responses=[{"identifier": "nope", "format": {"type": "image/tiff"}}]), "nope"),
])
async def test_invalid_requests(emu, mutate, fragment):
    body = process_body(NDVI)
    mutate(body)
    err = await sh_error(await emu.process(body), 400)
    assert fragment in err["message"]


async def test_several_responses_need_tar_accept(emu):
    body = process_body(NDVI, responses=[{"identifier": "default", "format": {"type": "image/tiff"}},
                                         {"identifier": "userdata", "format": {"type": "application/json"}}])
    await sh_error(await emu.process(body, headers={"Accept": "image/png"}), 400)
    resp = await emu.process(body, headers={"Accept": "application/x-tar"})
    assert resp.status == 200 and resp.content_type == "application/x-tar"


async def test_utm_south_and_concurrency(emu):
    bodies = [process_body(NDVI, bbox=(500000.0, 5000000.0 + i * 100, 500400.0, 5000200.0 + i * 100), crs=UTM33)
              for i in range(6)]
    results = await asyncio.gather(*[emu.process(b) for b in bodies])
    assert [r.status for r in results] == [200] * 6


@pytest.mark.parametrize("tamper", [
    "Math.max = function () { return 99; };",
    "__emu_run = function () { throw new Error('hijacked'); };",
    "JSON.stringify = function () { return '{}'; };",
    "Object.defineProperty(Object.prototype, 'sneaky', {value: 1, enumerable: false});",
    "__emu.same = function () { return true; }; __emu.baseline[1].vals.length = 0; Math.max = Math.min;",
])
async def test_tampered_contexts_are_not_reused(make_emu, tamper):
    emu = await make_emu(v8_pool_size=1, workers=1)
    script = "//VERSION=3\n" + SETUP + tamper + "\nfunction evaluatePixel(s) { return [1]; }\n"
    await emu.process(process_body(script))
    probe = ("//VERSION=3\n" + SETUP + "function evaluatePixel(s) { return [Math.max(1, 2) === 2 && "
             "({}).sneaky === undefined && JSON.stringify([1]) === '[1]' ? 5 : 0]; }\n")
    from .conftest import read_raster

    resp = await emu.process(process_body(probe))
    assert resp.status == 200, await resp.text()
    data, *_ = read_raster(await resp.read())
    assert (data == 5).all()  # pristine builtins and driver in the next request
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["v8"]["contexts_discarded"] >= 1


@pytest.mark.parametrize("call", ["require('fs').readFileSync('/etc/passwd')", "fetch('http://example.com')",
                                  "new XMLHttpRequest()", "setTimeout(function () {}, 1)"])
async def test_scripts_have_no_host_access(emu, call):
    script = "//VERSION=3\n" + SETUP + "function evaluatePixel(s) { " + call + "; return [1]; }\n"
    err = await sh_error(await emu.process(process_body(script)), 400, "RENDERER_EXCEPTION")
    assert "Error" in err["message"]
