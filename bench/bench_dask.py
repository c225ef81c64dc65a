"""The dask engine, measured (issue 19). Two parts, each step in its own process so that peak
memory is that step's:

1. `job`: the non-pushdown batch graph (monthly `aggregate_temporal_period` mean → 5×5
   `apply_kernel` → band mean, written as netCDF) over N × N px × 12 dates × 2 bands of FLOAT32,
   the load read from a raster file as the executor's chunked runs read it
   (`dask_engine.FileRaster`), on the local scheduler. Prints throughput (input Mpx·dates/s) and
   the peak RSS of the process for each size, chunked and (for the sizes that fit) eager.
2. `peer`: the executor's process library against openeo-processes-dask on the same in-memory
   cube and graphs (NDVI + temporal median, band math + band mean, monthly mean, 5×5 kernel,
   `apply_dimension` over time (cumsum; and x - mean(x), which the peer cannot run)) with the
   same threads: time (and CPU time, all threads: steadier on a shared host), peak memory over
   the loaded cube, and whether the values are equal; the sides' runs interleaved.
   openeo-processes-dask is never a project dependency: `--peer-python` is a separate venv's
   python with it installed (e.g. `python -m venv OPD && OPD/bin/pip install
   openeo-processes-dask openeo-pg-parser-networkx dask-geopandas xvec odc-stac
   stac-validator scipy psutil`).

Usage: .venv/bin/python bench/bench_dask.py [job [--sizes 2000 4000] [--chunk 1024]]
       .venv/bin/python bench/bench_dask.py peer --peer-python OPD/bin/python [--size 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dask_bench_common import GRAPHS, PeakRss, cube_coords, make_cube_values, warm_up  # noqa: E402

DATES = 12
JOB_BANDS = ["B04", "B08"]
JOB_GRAPH = {
    "monthly": {"process_id": "aggregate_temporal_period", "arguments": {
        "data": {"from_node": "load"}, "period": "month",
        "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                            "result": True}}}}},
    "kernel": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "monthly"},
                                                           "kernel": [[1.0] * 5] * 5, "factor": 1 / 25}},
    "bands": {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "kernel"}, "dimension": "bands",
        "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                            "result": True}}}}, "result": True},
}


def prepare(graph: dict, seeded: dict):
    """The graph prepared as the compiler prepares a plan's: a function evaluating it with the
    executor's evaluator (imports and preparation done before anything is timed)."""
    from compiler_svc.planning.execution_order import executor_graph, needed_order
    from compiler_svc.planning.inline import flatten
    from executor_svc.graph import GraphEvaluator

    flat, result, _ = flatten({"process_graph": graph}, {}, {})
    order = needed_order(flat, result, set(seeded))
    prepared = executor_graph(flat, order)
    return lambda: GraphEvaluator().run(prepared, order, result, seeded=seeded)


# --- 1. the batch graph over growing areas --------------------------------------------------


def write_raster(path: str, size: int) -> None:
    """The packed time-major FLOAT32 raster a temporal load assembles, written in row blocks."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (DATES * len(JOB_BANDS), size, size)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_2_0(handle, header)
        for plane in range(DATES * len(JOB_BANDS)):
            for row in range(0, size, 512):
                rows = np.arange(row, min(size, row + 512))[:, None]
                cols = np.arange(size)[None, :]
                block = (0.2 + 0.001 * plane + 1e-5 * rows + 1e-5 * cols + 0.01 * np.sin(rows * 0.37 + cols * 0.11))
                handle.write(block.astype("<f4").tobytes())


def load_of(size: int):
    from backend_proto.v1 import compiler_pb2

    return compiler_pb2.SentinelHubLoad(
        node_id="load", band_labels=JOB_BANDS, temporal=True, width=size, height=size,
        time_from="2024-01-01T00:00:00Z", time_to="2024-12-31T23:59:59Z",
        bbox=compiler_pb2.BoundingBox(west=400000, south=5200000 - 10 * size, east=400000 + 10 * size,
                                      north=5200000, epsg=32633))


def job_step(raster_path: str, size: int, mode: str, chunk: int, threads: int, out_dir: str) -> dict:
    from compiler_svc.output_formats import output_format
    from executor_svc.dask_engine import DaskEngine, DaskSettings, FileRaster
    from executor_svc.encoding import encode_result
    from executor_svc.loading.cube import cube_from_raster

    dates = [f"2024-{m:02d}-{d:02d}T10:00:00Z" for m in range(1, 13) for d in (7,)][:DATES]
    userdata = {"dates": dates, "bands": JOB_BANDS}
    engine = DaskEngine(DaskSettings(threads=threads, chunk_px=chunk, min_values=0), out_dir)
    engine.start()
    raster = FileRaster.open(raster_path)
    with PeakRss() as peak:
        if mode == "chunked":
            cube = cube_from_raster(raster, userdata, load_of(size), to_dask=engine.to_dask())
        else:
            cube = cube_from_raster(np.asarray(raster), userdata, load_of(size))
        value = prepare(JOB_GRAPH, {"load": cube})()
        files = encode_result(value, output_format("netCDF"), {}, out_dir, metadata=False)
    return {"seconds": peak.seconds, "peak_rss_mb": peak.peak / 2**20, "file_mb": files[0].size / 2**20}


def run_job(args) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        for size in args.sizes:
            path = os.path.join(tmp, f"raster-{size}.npy")
            write_raster(path, size)
            modes = ["chunked"] + (["eager"] if size <= args.eager_max else [])
            for mode in modes:
                out = subprocess.run([sys.executable, __file__, "_job", path, str(size), mode, str(args.chunk),
                                      str(args.threads), tmp], capture_output=True, text=True)
                if out.returncode != 0:
                    print(f"{size} {mode} failed: {out.stderr.strip()[-2000:]}")
                    continue
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                mpx = size * size * DATES / 1e6
                rows.append((size, mode, figures["seconds"], mpx / figures["seconds"], figures["peak_rss_mb"]))
            os.unlink(path)
    print(f"batch graph (monthly mean -> 5x5 kernel -> band mean -> netCDF), {DATES} dates x {len(JOB_BANDS)} bands, "
          f"chunks {args.chunk} px, {args.threads} threads")
    print(f"{'size px':>10} {'mode':>8} {'seconds':>9} {'Mpx*dates/s':>12} {'peak RSS MB':>12}")
    for size, mode, seconds, rate, rss in rows:
        print(f"{size:>10} {mode:>8} {seconds:>9.2f} {rate:>12.1f} {rss:>12.0f}")


# --- 2. side by side with openeo-processes-dask ----------------------------------------------


def ours_step(graph: str, cube_path: str, out_path: str, mode: str, threads: int) -> dict:
    import dask
    import xarray as xr

    values = np.load(cube_path)
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"), coords=cube_coords(values.shape), attrs={"crs": 32633})
    if mode == "chunked":
        cube = cube.chunk({"t": -1, "bands": -1, "y": 512, "x": 512})  # the peer's chunks
    nodes = {k: v for k, v in GRAPHS[graph].items() if k not in ("load", "save")}
    result_node = [k for k, v in GRAPHS[graph].items() if v.get("result")][0]
    last = GRAPHS[graph][result_node]["arguments"]["data"]["from_node"]
    nodes[last] = dict(nodes[last], result=True)
    run = prepare(nodes, {"load": cube})
    warm_up()
    with dask.config.set(scheduler="threads", num_workers=threads), PeakRss() as peak:
        result = run()
        out = np.asarray(result.transpose(*[d for d in ("t", "bands", "y", "x") if d in result.dims]).values)
    np.save(out_path, out)
    return {"seconds": peak.seconds, "cpu_seconds": peak.cpu_seconds, "peak_mb": peak.extra_mb, "dims": list(result.dims), "dtype": str(out.dtype)}


def compare(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"shapes differ {a.shape} vs {b.shape}"
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    both = ~nan_a & ~nan_b
    diff = float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0
    nan_mismatch = int((nan_a != nan_b).sum())
    return "equal" if diff <= 1e-5 and nan_mismatch == 0 else f"max |diff| {diff:.3g}, no-data differs at {nan_mismatch} px"


def run_peer(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dask-peer-") as tmp:
        cube_path = os.path.join(tmp, "cube.npy")
        np.save(cube_path, make_cube_values(DATES, args.size, args.size))
        print(f"cube: {DATES} dates x 3 bands x {args.size} x {args.size} px float32 "
              f"({os.path.getsize(cube_path) / 2**20:.0f} MB), {args.threads} threads, median of {args.repeat}")
        print(f"{'graph':<26} {'ours eager s':>12} {'ours dask s':>12} {'peer s':>8} {'eager/peer':>10} {'dask/peer':>9} "
              f"{'ours MB':>8} {'dask MB':>8} {'peer MB':>8} {'CPU s e/d/peer':>16}  values (ours vs peer)")
        for graph in GRAPHS:
            figures = {"eager": [], "chunked": [], "peer": []}
            for _ in range(args.repeat):  # the sides interleaved: a change of the host's load hits all three
                for side, runs in figures.items():
                    if runs and "error" in runs[-1]:
                        continue
                    out_path = os.path.join(tmp, f"{graph}-{side}.npy")
                    if side == "peer":
                        cmd = [args.peer_python, str(HERE / "dask_peer.py"), graph, cube_path, out_path, str(args.threads)]
                    else:
                        cmd = [sys.executable, __file__, "_ours", graph, cube_path, out_path, side, str(args.threads)]
                    done = subprocess.run(cmd, capture_output=True, text=True, cwd=str(HERE))
                    if done.returncode != 0:
                        runs.append({"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:90]})
                        continue
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            row, cpu = {}, {}
            for side, runs in figures.items():
                if "error" in runs[-1]:
                    row[side], cpu[side] = None, "-"
                else:
                    row[side] = (statistics.median(r["seconds"] for r in runs), statistics.median(r["peak_mb"] for r in runs))
                    cpu[side] = f"{statistics.median(r['cpu_seconds'] for r in runs):.2f}"
            if row["peer"] is not None:
                verdict = compare(np.load(os.path.join(tmp, f"{graph}-eager.npy")), np.load(os.path.join(tmp, f"{graph}-peer.npy")))
            else:
                verdict = "peer failed: " + figures["peer"][-1]["error"]
            fmt = lambda v, i: f"{v[i]:.2f}" if v is not None and i == 0 else (f"{v[i]:.0f}" if v is not None else "-")  # noqa: E731
            ratio = {side: f"{row[side][0] / row['peer'][0]:.2f}" if row["peer"] and row[side] else "-"
                     for side in ("eager", "chunked")}
            print(f"{graph:<26} {fmt(row['eager'], 0):>12} {fmt(row['chunked'], 0):>12} {fmt(row['peer'], 0):>8} "
                  f"{ratio['eager']:>10} {ratio['chunked']:>9} "
                  f"{fmt(row['eager'], 1):>8} {fmt(row['chunked'], 1):>8} {fmt(row['peer'], 1):>8} "
                  f"{cpu['eager'] + '/' + cpu['chunked'] + '/' + cpu['peer']:>16}  {verdict}")
            same = compare(np.load(os.path.join(tmp, f"{graph}-eager.npy")), np.load(os.path.join(tmp, f"{graph}-chunked.npy")))
            if same != "equal":
                print(f"{'':<26} ours eager vs ours chunked: {same}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_job":
        path, size, mode, chunk, threads, out_dir = sys.argv[2:8]
        print(json.dumps(job_step(path, int(size), mode, int(chunk), int(threads), out_dir)))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_ours":
        graph, cube_path, out_path, mode, threads = sys.argv[2:7]
        print(json.dumps(ours_step(graph, cube_path, out_path, mode, int(threads))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part")  # none (make bench): the job at its default sizes
    job = sub.add_parser("job")
    job.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000])
    job.add_argument("--eager-max", type=int, default=4000)
    job.add_argument("--chunk", type=int, default=1024)
    job.add_argument("--threads", type=int, default=2)
    peer = sub.add_parser("peer")
    peer.add_argument("--peer-python", required=True)
    peer.add_argument("--size", type=int, default=1024)
    peer.add_argument("--threads", type=int, default=2)
    peer.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.part is None:
        args = job.parse_args([], namespace=argparse.Namespace(part="job"))
    run_job(args) if args.part != "peer" else run_peer(args)


if __name__ == "__main__":
    main()
