"""The dask engine of large cube runs: which runs get chunked cubes, how a load becomes one, and
where the graph runs.

Small runs (every synchronous request below `min_pixels`) stay eager on numpy, in process: they
pay nothing for dask. A larger cube run assembles each load into a memory-mapped file (the
Sentinel Hub client's `MemmapSink`) and cuts it into chunks of `chunk_px` x `chunk_px` pixels,
one date and band deep; the processes then build a dask graph (processes/README.md) that the
encoders compute chunk by chunk.

Where the graph runs:
* locally (no `DASK_SCHEDULER_ADDRESS`): dask's threaded scheduler with `threads` workers, the
  chunks read from the mapped file when a task needs them (every read checks the run's budget,
  so a cancelled or overdue run stops between chunks);
* on a dask.distributed cluster (`DASK_SCHEDULER_ADDRESS`): each chunk is scattered to the
  workers as soon as its load is fetched (the executor holds one chunk at a time), the graph is
  submitted to the cluster, and the encoders pull the result's chunks back one by one and write
  the files here (`localize`): the executor only coordinates, and the workers need no access to
  its disk or to S3.
"""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from backend_common.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class DaskSettings:
    #: threads of the local scheduler
    threads: int = 2
    #: `host:port` of a dask.distributed scheduler ("" = local)
    scheduler_address: str = ""
    #: side of a chunk in pixels
    chunk_px: int = 1024
    #: output values (pixels x dates x bands of the loads) from which a run is chunked
    min_values: int = 4096 * 4096 * 4
    #: how long the executor tries to reach the cluster at start
    connect_seconds: float = 30.0


class _BudgetedArray:
    """A mapped array whose reads check the run's budget first (cancellation, deadline)."""

    def __init__(self, array: np.ndarray, budget):
        self.array, self.budget = array, budget
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        if self.budget is not None:
            self.budget.check()
        return np.asarray(self.array[key])


class DaskEngine:
    def __init__(self, settings: DaskSettings, work_dir: str):
        self.settings = settings
        self.work_dir = work_dir
        self.client = None

    def start(self) -> None:
        """Configures the local scheduler and connects to the cluster when one is configured
        (blocking: call from a thread)."""
        import dask

        dask.config.set({"scheduler": "threads", "num_workers": max(1, self.settings.threads),
                         # chunks of the processes' own rechunks stay near the configured size
                         "array.chunk-size": f"{4 * self.settings.chunk_px ** 2 * 4}B"})
        if self.settings.scheduler_address:
            from distributed import Client

            try:
                self.client = Client(self.settings.scheduler_address, set_as_default=False,
                                     timeout=self.settings.connect_seconds)
            except (OSError, TimeoutError) as exc:
                # the executor still serves: chunked runs use the local scheduler meanwhile
                log.warning("dask_cluster_unreachable", address=self.settings.scheduler_address, error=str(exc)[:200])
                return
            log.info("dask_cluster_connected", address=self.settings.scheduler_address,
                     workers=len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def wants(self, plan) -> bool:
        """Whether a plan's cube run is chunked: its loads hold at least `min_values` values."""
        values = 0
        for load in plan.loads:
            depth = max(1, len(load.band_labels)) * (max(1, _dates_hint(load)))
            values += load.width * load.height * depth
        return values >= self.settings.min_values

    def sink(self):
        """A memory-mapped sink for one load's raster (deleted when its mapping is closed)."""
        os.makedirs(self.work_dir, exist_ok=True)
        return _UnlinkingMemmapSink(os.path.join(self.work_dir, f"load-{uuid.uuid4().hex}.npy"))

    def to_dask(self, budget=None):
        """The function turning a load's packed (bands, rows, cols) raster into a dask array of
        chunks one band deep (`loading.cube.cube_from_raster(..., to_dask=...)`)."""
        import dask.array as da

        side = self.settings.chunk_px
        if self.client is None:
            return lambda data: da.from_array(_BudgetedArray(data, budget), chunks=(1, side, side),
                                              asarray=False, name=False)
        return lambda data: scatter_chunks(self.client, data, side)

    def chunk(self, value: Any) -> Any:
        """An in-memory cube chunked like the loads (anything else as it is)."""
        if not isinstance(value, xr.DataArray) or value.chunks is not None or "x" not in value.dims:
            return value
        side = self.settings.chunk_px
        return value.chunk({d: (1 if d != "x" and d != "y" else side) for d in value.dims if d in ("x", "y", "t")})

    def localize(self, value: Any) -> Any:
        """On a cluster: the result with its chunks computed there and fetched one by one when the
        encoder (running here, on the local scheduler) needs them; anything else as it is."""
        if self.client is None or not (isinstance(value, xr.DataArray) and value.chunks is not None):
            return value
        import dask
        import dask.array as da

        array = value.data
        blocks = array.to_delayed()
        futures = self.client.compute(list(blocks.ravel()))
        fetched = np.empty(blocks.shape, dtype=object)
        for index, future in zip(np.ndindex(blocks.shape), futures):
            shape = tuple(array.chunks[axis][i] for axis, i in enumerate(index))
            fetched[index] = da.from_delayed(dask.delayed(_Pull(future), pure=True)(), shape, dtype=array.dtype)
        return value.copy(data=da.block(fetched.tolist()))


class _Pull:
    """Fetches one computed chunk from the cluster (an opaque holder: dask would take a bare
    future for a key of the local graph)."""

    def __init__(self, future):
        self.future = future

    def __call__(self):
        return self.future.result()


def scatter_chunks(client, data: np.ndarray, side: int):
    """A dask array of `data` (bands, rows, cols) whose chunks (1, side, side) live on the
    cluster's workers, scattered one at a time."""
    import dask.array as da

    bands, rows, cols = data.shape
    grid = np.empty((bands, math.ceil(rows / side) or 1, math.ceil(cols / side) or 1), dtype=object)
    for b, r, c in np.ndindex(grid.shape):
        block = np.ascontiguousarray(data[b:b + 1, r * side:(r + 1) * side, c * side:(c + 1) * side])
        future = client.scatter(block, direct=False)
        grid[b, r, c] = da.from_delayed(future, block.shape, dtype=data.dtype)
    return da.block(grid.tolist())


def _dates_hint(load) -> int:
    """Dates a temporal load may return (unknown before the request: its catalogue count when the
    plan has one, else one per five days of its range)."""
    if not load.temporal:
        return 1
    try:
        import pandas as pd

        days = (pd.Timestamp(load.time_to) - pd.Timestamp(load.time_from)).days
    except (ValueError, TypeError):
        return 1
    return max(1, days // 5 + 1)


class FileRaster:
    """A (bands, rows, cols) raster in a .npy file, read window by window with `os.pread`:
    chunks read this way are the process's own memory only while a task holds them (a memory
    map would keep every page read resident in the process until the end of the run)."""

    def __init__(self, fd: int, offset: int, shape: tuple[int, ...], dtype):
        self.fd, self.offset, self.shape, self.dtype = fd, offset, tuple(shape), np.dtype(dtype)
        self.ndim = len(self.shape)

    @classmethod
    def open(cls, path: str) -> "FileRaster":
        fd = os.open(path, os.O_RDONLY)
        with open(path, "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
            offset = handle.tell()
        if fortran or len(shape) != 3:
            os.close(fd)
            raise ValueError("a raster file holds a C-ordered (bands, rows, cols) array")
        return cls(fd, offset, shape, dtype)

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        bands, rows, cols = (range(*k.indices(n)) if isinstance(k, slice) else range(k, k + 1)
                             for k, n in zip(key, self.shape))
        if not all(isinstance(k, slice) for k in key) or any(r.step != 1 for r in (bands, rows, cols)):
            raise IndexError("a raster file is read in windows (slices with step 1)")
        out = np.empty((len(bands), len(rows), len(cols)), dtype=self.dtype)
        item, (_, height, width) = self.dtype.itemsize, self.shape
        size = len(cols) * item
        if size:
            for bi, b in enumerate(bands):
                for ri, r in enumerate(rows):
                    start = self.offset + ((b * height + r) * width + cols.start) * item
                    out[bi, ri] = np.frombuffer(os.pread(self.fd, size, start), dtype=self.dtype)
        return out

    def __array__(self, dtype=None, copy=None):
        values = self[:, :, :]
        return values if dtype is None else values.astype(dtype)

    def astype(self, dtype, copy=True):
        return np.asarray(self).astype(dtype)

    def __del__(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


class _UnlinkingMemmapSink:
    """`MemmapSink` whose result is a `FileRaster` of its file, unlinked at once (the open file
    keeps it until the raster is collected)."""

    def __init__(self, path: str):
        from executor_svc.sentinelhub.sinks import MemmapSink

        self._sink = MemmapSink(path)
        self.path = path

    def __getattr__(self, name):
        return getattr(self._sink, name)

    def result(self):
        array = self._sink.result()
        if array is None:
            return None
        del array
        self._sink.array = None  # unmapped: what is read later is read by window
        raster = FileRaster.open(self.path)
        os.unlink(self.path)
        return raster
