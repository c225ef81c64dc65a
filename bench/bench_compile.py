"""Compile time of a 100-node process graph (target < 20 ms). Run: .venv/bin/python bench/bench_compile.py"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_proto.v1 import compiler_pb2  # noqa: E402
from compiler_svc import compilation  # noqa: E402


def graph_100() -> dict:
    """Two loads, an SCL mask, a chain of band math / apply nodes and a final save: 100 nodes."""
    bbox = {"west": 16.1, "south": 48.1, "east": 16.2, "north": 48.2}
    g = {
        "l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": bbox,
                                                             "temporal_extent": ["2021-06-01", "2021-07-01"], "bands": ["B04", "B08"]}},
        "n0": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}, "target_band": "NDVI"}},
    }
    prev = "n0"
    for i in range(1, 97):
        cb = {"process_graph": {
            "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": 1.0001}},
            "c": {"process_id": "clip", "arguments": {"x": {"from_node": "m"}, "min": -10, "max": 10}, "result": True}}}
        g[f"a{i}"] = {"process_id": "apply", "arguments": {"data": {"from_node": prev}, "process": cb}}
        prev = f"a{i}"
    g["t"] = {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": prev}, "dimension": "t", "reducer": {
        "process_graph": {"r": {"process_id": "median", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}}}
    g["s"] = {"process_id": "save_result", "arguments": {"data": {"from_node": "t"}, "format": "GTiff"}, "result": True}
    assert len(g) == 100, len(g)
    return g


async def main(runs: int = 50) -> None:
    text = json.dumps({"process_graph": graph_100()})

    async def no_udps(_):
        return None

    plan = await compilation.compile_process(text, no_udps, purpose=compiler_pb2.PURPOSE_BATCH)  # warm-up (caches)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        plan = await compilation.compile_process(text, no_udps, purpose=compiler_pb2.PURPOSE_BATCH)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"100-node graph: loads={len(plan.loads)} absorbed={len(plan.loads[0].absorbed_node_ids)} "
          f"evalscript={len(plan.loads[0].evalscript)} chars")
    print(f"compile time over {runs} runs: median {statistics.median(times):.2f} ms, "
          f"p95 {times[int(0.95 * len(times)) - 1]:.2f} ms, min {times[0]:.2f} ms (target < 20 ms)")


if __name__ == "__main__":
    asyncio.run(main())
