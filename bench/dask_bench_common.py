"""What both sides of bench_dask.py's comparison share (numpy, pandas and psutil; dask inside
`warm_up`): the graphs, the cube's labels, the warm-up and the peak-memory sampler."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import psutil

BANDS = ["B04", "B08", "B11"]


def cube_coords(shape) -> dict:
    nt, nb, ny, nx = shape
    return {"t": pd.date_range("2024-01-05", periods=nt, freq="30D").values, "bands": BANDS[:nb],
            "y": 5_200_000 - 10 * np.arange(ny) - 5.0, "x": 400_000 + 10 * np.arange(nx) + 5.0}


def make_cube_values(nt: int, ny: int, nx: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 0.6, size=(nt, len(BANDS), ny, nx)).astype(np.float32)
    values[:, :, : ny // 8, : nx // 8] = np.nan  # a gap: no-data handling counts too
    return values


def _mean(param="data"):
    return {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": param}},
                                    "result": True}}}


KERNEL = [[1, 2, 3, 2, 1], [2, 4, 6, 4, 2], [3, 6, 9, 6, 3], [2, 4, 6, 4, 2], [1, 2, 3, 2, 0]]  # asymmetric corner

LOAD = {"process_id": "load_collection", "arguments": {"id": "S2", "spatial_extent": None, "temporal_extent": None}}
GRAPHS = {
    "ndvi_temporal_median": {
        "load": LOAD,
        "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}, "nir": "B08", "red": "B04"}},
        "median": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "ndvi"}, "dimension": "t",
                   "reducer": {"process_graph": {"m": {"process_id": "median", "arguments": {
                       "data": {"from_parameter": "data"}}, "result": True}}}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "median"}, "format": "GTiff"},
                 "result": True},
    },
    "band_math_band_mean": {
        "load": LOAD,
        "math": {"process_id": "apply", "arguments": {"data": {"from_node": "load"}, "process": {"process_graph": {
            "mul": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": 2.5}},
            "add": {"process_id": "add", "arguments": {"x": {"from_node": "mul"}, "y": -0.1}, "result": True}}}}},
        "mean": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "math"}, "dimension": "bands",
                 "reducer": _mean()}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "mean"}, "format": "GTiff"},
                 "result": True},
    },
    "monthly_mean": {
        "load": LOAD,
        "monthly": {"process_id": "aggregate_temporal_period", "arguments": {"data": {"from_node": "load"},
                    "period": "month", "reducer": _mean()}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "monthly"}, "format": "GTiff"},
                 "result": True},
    },
    "kernel_5x5": {
        "load": LOAD,
        "kernel": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "load"}, "kernel": KERNEL,
                   "factor": 1 / 80}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "kernel"}, "format": "GTiff"},
                 "result": True},
    },
    "apply_dimension_time": {
        "load": LOAD,
        "cumsum": {"process_id": "apply_dimension", "arguments": {"data": {"from_node": "load"}, "dimension": "t",
                   "process": {"process_graph": {"c": {"process_id": "cumsum", "arguments": {
                       "data": {"from_parameter": "data"}}, "result": True}}}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "cumsum"}, "format": "GTiff"},
                 "result": True},
    },
    "apply_dimension_anomaly": {
        "load": LOAD,
        "anomaly": {"process_id": "apply_dimension", "arguments": {"data": {"from_node": "load"}, "dimension": "t",
                    "process": {"process_graph": {
                        "m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
                        "d": {"process_id": "subtract", "arguments": {"x": {"from_parameter": "data"},
                                                                       "y": {"from_node": "m"}}, "result": True}}}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "anomaly"}, "format": "GTiff"},
                 "result": True},
    },
}


def warm_up() -> None:
    """One tiny dask computation before anything is timed: dask's first `compute` imports the
    schedulers (and dask.distributed where it is installed, as in the project's venv: 0.3 s),
    a one-time cost of a process that a long-running executor has paid before its first job."""
    import dask
    import dask.array

    dask.compute(dask.array.ones(4, chunks=2).sum(), scheduler="threads", num_workers=2)


class PeakRss:
    """Wall time, CPU time (all threads) and the peak resident memory above the level at entry,
    sampled every 5 ms."""

    def __init__(self):
        self.process = psutil.Process()
        self.extra_mb = 0.0
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __enter__(self) -> "PeakRss":
        self.base = self.process.memory_info().rss
        self.peak = self.base
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        return self

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.cpu_started
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)
        self.extra_mb = (self.peak - self.base) / 2**20
