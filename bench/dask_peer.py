"""Runs one bench_dask.py graph with openeo-processes-dask (the library Eurac/EODC backends run),
through openeo-pg-parser-networkx as those backends do. Runs in its own venv (never a project
dependency): `python bench/dask_peer.py GRAPH CUBE.npy OUT.npy THREADS`; prints JSON (seconds,
peak RSS over the loaded cube)."""

from __future__ import annotations

import inspect
import json
import sys

import dask
import numpy as np

from dask_bench_common import GRAPHS, PeakRss, cube_coords, warm_up


def main() -> None:
    name, cube_path, out_path, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    import xarray as xr
    from openeo_pg_parser_networkx import OpenEOProcessGraph, ProcessRegistry
    from openeo_pg_parser_networkx.process_registry import Process

    import openeo_processes_dask.process_implementations as impls
    from openeo_processes_dask.process_implementations.core import process

    values = np.load(cube_path)
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"), coords=cube_coords(values.shape))
    registry = ProcessRegistry(wrap_funcs=[process])
    for pid, fn in inspect.getmembers(impls, inspect.isfunction):
        registry[("predefined", pid)] = Process(spec={}, implementation=fn)
    registry[("predefined", "load_collection")] = Process(spec={}, implementation=lambda *a, **k: cube.chunk(
        {"t": -1, "bands": -1, "y": 512, "x": 512}))
    registry[("predefined", "save_result")] = Process(spec={}, implementation=lambda data, *a, **k: data)
    graph = OpenEOProcessGraph({"process_graph": GRAPHS[name]})
    run = graph.to_callable(process_registry=registry)
    warm_up()
    with dask.config.set(scheduler="threads", num_workers=threads), PeakRss() as peak:
        result = run()
        out = np.asarray(result.transpose(*[d for d in ("t", "bands", "y", "x") if d in result.dims]).values)
    np.save(out_path, out)
    print(json.dumps({"seconds": peak.seconds, "cpu_seconds": peak.cpu_seconds, "peak_mb": peak.extra_mb, "dims": list(result.dims),
                      "dtype": str(out.dtype)}))


if __name__ == "__main__":
    main()
