"""Where assembled rasters go: a preallocated numpy array or a memory-mapped .npy file.

A sink is allocated once (when the first tile tells the band count and data type) and then
receives disjoint windows from executor threads; it never sees the event loop.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import numpy as np


class RasterSink(Protocol):
    def allocate(self, bands: int, height: int, width: int, dtype: np.dtype) -> None: ...

    def write(self, row: int, col: int, data: np.ndarray) -> None: ...

    def result(self) -> np.ndarray | None: ...


class ArraySink:
    """Assembles into one preallocated in-memory array of shape (bands, height, width)."""

    def __init__(self):
        self.array: np.ndarray | None = None

    def allocate(self, bands: int, height: int, width: int, dtype: np.dtype) -> None:
        self.array = np.empty((bands, height, width), dtype=dtype)

    def write(self, row: int, col: int, data: np.ndarray) -> None:
        assert self.array is not None
        self.array[:, row : row + data.shape[1], col : col + data.shape[2]] = data

    def result(self) -> np.ndarray | None:
        return self.array


class MemmapSink(ArraySink):
    """Assembles into a memory-mapped .npy file (`np.load(path, mmap_mode="r")` reads it back)."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)

    def allocate(self, bands: int, height: int, width: int, dtype: np.dtype) -> None:
        self.array = np.lib.format.open_memmap(self.path, mode="w+", dtype=dtype, shape=(bands, height, width))

    def result(self) -> np.ndarray | None:
        if isinstance(self.array, np.memmap):
            self.array.flush()
        return self.array


class _Once:
    """Allocates a sink exactly once from whichever executor thread decodes the first tile."""

    def __init__(self, sink: RasterSink, height: int, width: int):
        self.sink = sink
        self.height = height
        self.width = width
        self.bands: int | None = None
        self.dtype: np.dtype | None = None
        self._lock = threading.Lock()

    def ensure(self, bands: int, dtype: np.dtype) -> None:
        with self._lock:
            if self.bands is None:
                self.sink.allocate(bands, self.height, self.width, dtype)
                self.bands, self.dtype = bands, dtype
