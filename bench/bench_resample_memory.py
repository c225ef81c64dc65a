"""Peak memory and time of resample_spatial on a chunked cube, side by side for several checkouts.

Each run is a fresh subprocess (cwd = the checkout, so it imports that checkout's processes): a
lazily generated float32 cube of `--size` x `--size` px x `--bands` bands in UTM 33N, chunked
`--chunk` px (the dask engine's default), resampled to `--factor` times the pixel size (same CRS)
or to EPSG:4326 (`--projection 4326`), then computed block by block into a preallocated result
with the threaded scheduler (`--threads`). Printed per checkout: peak RSS (VmHWM), the RSS after
the imports and the input's generation setup (baseline), their difference (which includes the
computed result, its size printed too), and the wall time.

Usage: .venv/bin/python bench/bench_resample_memory.py [--size 4000] [--factor 2] [--projection 4326]
           [--method average] [--repeat 3] CHECKOUT [CHECKOUT ...]
(e.g. a checkout of main and this one: the figures of both are printed in one table.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
import psutil
import dask, dask.array as da, numpy as np, xarray as xr
from executor_svc.processes import ExecutionContext
from executor_svc.processes.resample import resample_spatial

def rss():
    return psutil.Process().memory_info().rss / 2**20


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

a = json.loads(sys.argv[1])
n, chunk = a["size"], a["chunk"]
values = da.random.default_rng(1).random((a["bands"], n, n), chunks=(1, chunk, chunk), dtype=np.float32)
cube = xr.DataArray(values, dims=("bands", "y", "x"), attrs={"crs": 32633},
                    coords={"bands": [f"B{i}" for i in range(a["bands"])],
                            "y": 5e6 - 10 * np.arange(n) - 5, "x": 5e5 + 10 * np.arange(n) + 5})
args = {"data": cube, "method": a["method"]}
if a["projection"]:
    args["projection"] = a["projection"]
    if a["factor"] != 1:
        args["resolution"] = a["factor"] * 10 / 111320
else:
    args["resolution"] = a["factor"] * 10
baseline = rss()
start = time.perf_counter()
with dask.config.set(scheduler="threads", num_workers=a["threads"]):
    out = resample_spatial(args, ExecutionContext())
    result = np.empty(out.shape, dtype=out.dtype)
    da.store(out.data, result, lock=False)
elapsed = time.perf_counter() - start
print(json.dumps({"peak": peak_rss(), "baseline": baseline, "seconds": elapsed, "result": result.nbytes / 2**20,
                  "chunks": [max(c) for c in out.chunks], "finite": float(np.isfinite(result).mean())}))
"""


def run(checkout: Path, params: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(params)], cwd=checkout,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{checkout}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--bands", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--projection", type=int, default=None)
    parser.add_argument("--method", default="average")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    a = parser.parse_args()
    params = {k: getattr(a, k) for k in ("size", "bands", "chunk", "factor", "projection", "method", "threads")}
    print(f"resample_spatial {a.size} x {a.size} px x {a.bands} bands, chunks {a.chunk} px, "
          f"factor {a.factor}, projection {a.projection or 'same'}, {a.method}, {a.threads} threads; "
          f"median of {a.repeat} runs, runs of the checkouts interleaved")
    results: dict[Path, list[dict]] = {c: [] for c in a.checkouts}
    for _ in range(a.repeat):
        for checkout in a.checkouts:
            results[checkout].append(run(checkout, params))
    print(f"{'checkout':40s} {'peak MB':>9s} {'base MB':>9s} {'peak-base':>10s} {'result MB':>10s} {'seconds':>8s}  out chunk")
    for checkout, runs in results.items():
        peak = statistics.median(r["peak"] for r in runs)
        base = statistics.median(r["baseline"] for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        print(f"{str(checkout)[-40:]:40s} {peak:9.0f} {base:9.0f} {peak - base:10.0f} {runs[0]['result']:10.0f} "
              f"{secs:8.2f}  {runs[0]['chunks']}")


if __name__ == "__main__":
    main()
