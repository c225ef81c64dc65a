"""aggregate_spatial through the Statistical API vs the raster path, on the emulator.

Compiles one graph (NDVI of Sentinel-2 L2A over `--days` days, mean per field of `--fields`
square fields spread over a `--size` x `--size` px area at 10 m in UTM 33N) twice: as planned
(Statistical API requests, one per field) and with `STATISTICAL_API` off (one Process API load of
the whole area and the executor's aggregate_spatial). Both run through the executor's
`PlanRunner` against an emulator subprocess, alternating, `--runs` times each, and the script
prints side by side: median wall time, PU charged, the executor's peak Python allocation
(tracemalloc) and the ratios. Both results are checked equal first.

Usage: .venv/bin/python bench/bench_statistics.py [--size 1000] [--fields 12] [--days 15] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_proto.v1 import common_pb2, compiler_pb2  # noqa: E402
from compiler_svc import compilation  # noqa: E402
from compiler_svc.config import PlanningSettings  # noqa: E402
from devstack.emulator import running_emulator  # noqa: E402
from executor_svc.runner import PlanRunner  # noqa: E402

WEST, SOUTH, RES = 500000.0, 5000000.0, 10.0


def fields(size: int, count: int) -> dict:
    """`count` squares of a tenth of the area's side on a grid, in EPSG:4326 (as users send them)."""
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(32633, 4326, always_xy=True)
    per_row = int(np.ceil(np.sqrt(count)))
    step = size * RES / per_row
    side = size * RES / 10
    features = []
    for i in range(count):
        x0 = WEST + (i % per_row) * step + 3.3
        y0 = SOUTH + (i // per_row) * step + 4.7
        ring = [to_wgs84.transform(x, y) for x, y in ((x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side), (x0, y0))]
        features.append({"type": "Feature", "properties": {"field": i}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def graph(size: int, count: int, days: int) -> dict:
    extent = {"west": WEST, "south": SOUTH, "east": WEST + size * RES, "north": SOUTH + size * RES, "crs": 32633}
    return {"process_graph": {
        "l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": extent,
                                                             "temporal_extent": ["2024-06-01", f"2024-06-{1 + days:02d}"],
                                                             "bands": ["B04", "B08"]}},
        "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}, "nir": "B08", "red": "B04"}},
        "a": {"process_id": "aggregate_spatial", "arguments": {"data": {"from_node": "n"}, "geometries": fields(size, count),
              "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                                  "result": True}}}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "a"}, "format": "JSON"}, "result": True}}}


async def _no_udps(_udp_id):
    return None


async def main(args) -> None:
    process_json = json.dumps(graph(args.size, args.fields, args.days))
    plans = {
        "statistics": await compilation.compile_process(process_json, _no_udps, purpose=compiler_pb2.PURPOSE_BATCH),
        "raster": await compilation.compile_process(process_json, _no_udps, purpose=compiler_pb2.PURPOSE_BATCH,
                                                    settings=PlanningSettings(statistical_api=False)),
    }
    assert plans["statistics"].statistical_aggregations and not plans["raster"].statistical_aggregations
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    user = common_pb2.User(user_id="basic~bench")
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "emulator.log") as emulator, \
            ThreadPoolExecutor(2) as pool:
        config = ClientConfig(deployment=Deployment.emulator(emulator.url), client_id="demo-client",
                              client_secret="demo-secret")
        async with SentinelHubClient(config, executor=pool) as sh:
            runner = PlanRunner(sh, pool)
            values, figures = {}, {name: {"seconds": [], "pu": [], "peak_mb": []} for name in plans}
            for run in range(args.runs):
                for name, plan in plans.items():
                    tracemalloc.start()
                    started = time.perf_counter()
                    outcome = await runner.run(plan, user)
                    seconds = time.perf_counter() - started
                    peak = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
                    figures[name]["seconds"].append(seconds)
                    figures[name]["pu"].append(outcome.processing_units)
                    figures[name]["peak_mb"].append(peak)
                    values[name] = np.asarray(outcome.value.values, dtype=float)
                if run == 0:
                    np.testing.assert_allclose(values["statistics"], values["raster"], rtol=1e-5, equal_nan=True)
    med = {name: {k: statistics.median(v) for k, v in f.items()} for name, f in figures.items()}
    print(f"{args.fields} fields ({args.size // 10} px squares) in {args.size} x {args.size} px, {args.days} days, "
          f"{values['raster'].shape[1]} dates, {args.runs} runs each (medians); results equal (rtol 1e-5)")
    print(f"{'':24}{'statistics':>12}{'raster':>12}{'ratio':>10}")
    for key, label in (("seconds", "wall time s"), ("pu", "processing units"), ("peak_mb", "peak Python MiB")):
        s, r = med["statistics"][key], med["raster"][key]
        print(f"{label:24}{s:12.3f}{r:12.3f}{s / r if r else float('nan'):10.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--fields", type=int, default=12)
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
