"""Render throughput of the Sentinel Hub emulator (one core).

1. evalscript stage: NDVI evalscript over 4 input bands (B02, B04, B08, dataMask) in V8, pixel data already
   in ArrayBuffers — the JS driver loop + evaluatePixel per pixel + one Float64 output buffer;
2. end to end: the same request through ``Renderer.render`` (synthetic data generation in numpy,
   V8, sample conversion, GeoTIFF encoding) in EPSG:4326 and UTM.

Usage: .venv/bin/python bench/bench_emulator.py [--size 2000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinelhub_emulator.evalscript import ScriptSession, V8Pool  # noqa: E402
from sentinelhub_emulator.process_request import parse_process_request  # noqa: E402
from sentinelhub_emulator.render import Renderer  # noqa: E402

NDVI4 = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B04", "B08", "dataMask"]}], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  if (s.dataMask === 0 || s.B02 > 0.3) return [NaN];
  return [(s.B08 - s.B04) / (s.B08 + s.B04)];
}
"""


def bench_script(pool: V8Pool, size: int) -> float:
    n = size * size
    bands = ["B02", "B04", "B08", "dataMask"]
    rng = np.random.default_rng(0)
    with ScriptSession(pool, 600) as s:
        s.load(NDVI4)
        s.prepare({"from": "2021-01-01T00:00:00Z", "to": "2021-01-02T00:00:00Z", "fusion": False,
                   "outputs": {"default": 1},
                   "datasources": [{"key": "0", "mosaicking": "SIMPLE", "collection": "sentinel-2-l2a",
                                    "dates": ["2021-01-01T10:30:00Z"], "shIds": [1]}]})
        buf = s.alloc("0", 4 * n).reshape(4, n)
        buf[:3] = rng.random((3, n)) * 0.5
        buf[3] = 1.0
        t0 = time.perf_counter()
        out = s.run({"npix": n, "fusion": False, "normalization": 0.0001,
                     "datasources": [{"key": "0", "bands": bands, "simple": True, "count": 1}],
                     "outputs": [{"id": "default", "bands": 1}]}, 1)
        dt = time.perf_counter() - t0
    exp = np.where(buf[0] > 0.3, np.nan, (buf[2] - buf[1]) / (buf[2] + buf[1]))
    assert np.allclose(out, exp, equal_nan=True)
    return dt


def bench_render(renderer: Renderer, size: int, crs: str | None, bbox) -> float:
    body = {"input": {"bounds": {"bbox": bbox, **({"properties": {"crs": crs}} if crs else {})},
                      "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {
                          "from": "2021-06-01T00:00:00Z", "to": "2021-06-30T23:59:59Z"}}}]},
            "output": {"width": size, "height": size,
                       "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": NDVI4}
    plan = parse_process_request(body)
    t0 = time.perf_counter()
    res = renderer.render(plan)
    dt = time.perf_counter() - t0
    assert res.content_type == "image/tiff" and len(res.body) > size * size * 4
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pool = V8Pool(1)
    mpx = args.size * args.size / 1e6
    best = min(bench_script(pool, args.size) for _ in range(args.repeat))
    print(f"evalscript stage  NDVI/4 bands {args.size}x{args.size}: {best * 1000:8.1f} ms  {mpx / best:6.1f} Mpx/s")
    renderer = Renderer(pool, 600)
    for label, crs, bbox in (("EPSG:4326", None, [13.0, 45.0, 13.2, 45.2]),
                             ("UTM 33N  ", "http://www.opengis.net/def/crs/EPSG/0/32633",
                              [500000.0, 5000000.0, 520000.0, 5020000.0])):
        best = min(bench_render(renderer, args.size, crs, bbox) for _ in range(args.repeat))
        print(f"end-to-end {label} {args.size}x{args.size} (data+V8+GeoTIFF): {best * 1000:8.1f} ms  "
              f"{mpx / best:6.1f} Mpx/s")
    pool.close()


if __name__ == "__main__":
    main()
