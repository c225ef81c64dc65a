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
    """Computes blocks of one dask array, a few at a time, from a graph optimized per section.

    `dask.compute(array.blocks[i])` optimizes the whole graph again for every call: with
    ~10^5 tasks (a large area) that cost time and transient memory growing with the area on
    every block. Materializing the whole optimized graph once instead held about 2.5 KB per
    task for the whole run (350 MB at 20,000^2 px x 12 dates). Here the graph is culled and
    optimized for a section of consecutive blocks and materialized for those only; each call
    runs only the tasks its blocks need (`cull` walks from their keys), on the configured
    scheduler. A section's graph is freed before the next one is built."""

    def __init__(self, array):
        self.array = array
        self.name = array.name
        self._keys: frozenset = frozenset()
        self._graph: dict = {}

    def prepare(self, indexes) -> None:
        """Optimize the graph for the blocks at `indexes` (the next calls' blocks)."""
        keys = [(self.name, *index) for index in indexes]
        self._graph, self._keys = {}, frozenset()
        self._graph = dict(self.array.__dask_optimize__(self.array.__dask_graph__(), keys))
        self._keys = frozenset(keys)

    def compute(self, indexes) -> list[np.ndarray]:
        from dask.base import get_scheduler
        from dask.optimization import cull

        keys = [(self.name, *index) for index in indexes]
        if not self._keys.issuperset(keys):
            self.prepare(indexes)
        needed, _ = cull(self._graph, keys)
        scheduler = get_scheduler(collections=[self.array]) or get_scheduler()
        return list(scheduler(needed, keys))


# blocks per optimized section: the optimization of a section walks the keys of the whole graph
# (0.1-0.5 s at 20,000^2 px), so sections are not made smaller than needed to bound the memory
_SECTION_BLOCKS = 128


def computed_blocks(array, *, parallel: int = 2) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
    """(slices of the whole array, computed block) of every block of the dask `array` in C order,
    `parallel` computed at once and the next ones only once these were taken."""
    windows = list(block_windows(array))
    computer = BlockComputer(array)
    step = max(1, parallel)
    section = max(step, _SECTION_BLOCKS // step * step)
    for first in range(0, len(windows), section):
        computer.prepare([index for index, _ in windows[first:first + section]])
        for start in range(first, min(len(windows), first + section), step):
            batch = windows[start:start + step]
            for (_, window), block in zip(batch, computer.compute([index for index, _ in batch])):
                yield window, np.asarray(block)


def with_empty_variables(ds, names):
    """`ds` with its dask variables `names` replaced by empty ones of the same shape, chunks, dtype
    and attributes: what xarray needs to lay a file out (`to_netcdf`/`to_zarr` with
    `compute=False`). Given the real graph, `dask.array.store` materializes and optimizes all of
    it there (memory growing with the area) for data written block by block afterwards anyway."""
    import dask.array as da

    out = ds.copy()
    for name in names:
        variable = ds[name]
        out[name] = variable.copy(data=da.empty(variable.shape, dtype=variable.dtype, chunks=variable.data.chunks))
    return out


def write_blocks(array, target, *, parallel: int = 2, on_block: Callable[[np.ndarray], None] | None = None) -> None:
    """`target[slices] = block` for every block of the dask `array`, `parallel` computed at once."""
    for window, block in computed_blocks(array, parallel=parallel):
        target[window] = block
        if on_block is not None:
            on_block(block)
