"""Writing a dask array a few blocks at a time (CPU work: run in an executor).

Handing a whole graph to a writer (`dask.array.store`, xarray's `to_netcdf`/`to_zarr`) lets the
scheduler start many blocks at once: with neighbourhoods (kernels) and temporal groups between the
load and the file, it held several times the memory of one block, growing with the area. Here
`parallel` blocks are computed at a time and written before the next ones start, so memory is
bounded by a few blocks and their neighbours whatever the area."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


def block_windows(array) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """(block index, slices of the whole array) of every block, in C order."""
    edges = [np.cumsum((0,) + tuple(chunks)) for chunks in array.chunks]
    for index in np.ndindex(*array.numblocks):
        yield index, tuple(slice(int(e[k]), int(e[k + 1])) for e, k in zip(edges, index))


class BlockComputer:
    """Computes blocks of one dask array, a few at a time, from its graph materialized once.

    `dask.compute(array.blocks[i])` optimizes the whole graph again for every call: with
    ~10^5 tasks (a large area) that cost time and transient memory growing with the area on
    every block. Here the graph becomes a task dict once, and each call runs only the tasks its
    blocks need (`cull` walks from their keys), on the configured scheduler."""

    def __init__(self, array):
        import dask

        (self.array,) = dask.optimize(array)
        self.graph = dict(self.array.__dask_graph__())
        self.name = self.array.name

    def compute(self, indexes) -> list[np.ndarray]:
        from dask.base import get_scheduler
        from dask.optimization import cull

        keys = [(self.name, *index) for index in indexes]
        needed, _ = cull(self.graph, keys)
        scheduler = get_scheduler(collections=[self.array]) or get_scheduler()
        return list(scheduler(needed, keys))


def computed_blocks(array, *, parallel: int = 2) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
    """(slices of the whole array, computed block) of every block of the dask `array` in C order,
    `parallel` computed at once and the next ones only once these were taken."""
    windows = list(block_windows(array))
    computer = BlockComputer(array)
    step = max(1, parallel)
    for start in range(0, len(windows), step):
        batch = windows[start:start + step]
        for (_, window), block in zip(batch, computer.compute([index for index, _ in batch])):
            yield window, np.asarray(block)


def write_blocks(array, target, *, parallel: int = 2, on_block: Callable[[np.ndarray], None] | None = None) -> None:
    """`target[slices] = block` for every block of the dask `array`, `parallel` computed at once."""
    for window, block in computed_blocks(array, parallel=parallel):
        target[window] = block
        if on_block is not None:
            on_block(block)
