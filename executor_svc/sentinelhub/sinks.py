"""Where assembled rasters go: a preallocated numpy array or a memory-mapped .npy file.

A sink is allocated once (when the first tile tells the band count and data type) and then
receives windows from executor threads (serialised by the assembler); it never sees the event
loop. `grow` and `reorder_bands` are needed only when the parts of a split temporal request list
different acquisition dates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

_ROW_BLOCK = 256


class RasterSink(Protocol):
    def allocate(self, bands: int, height: int, width: int, dtype: np.dtype) -> None: ...

    def write(self, row: int, col: int, data: np.ndarray, band: int = 0) -> None: ...

    def grow(self, bands: int, fill: float) -> None: ...

    def reorder_bands(self, order: list[int]) -> None: ...

    def result(self) -> np.ndarray | None: ...


def fill_value(dtype: np.dtype) -> float:
    return np.nan if np.issubdtype(dtype, np.floating) else 0


class ArraySink:
    """Assembles into one preallocated in-memory array of shape (bands, height, width)."""

    def __init__(self):
        self.array: np.ndarray | None = None

    def allocate(self, bands: int, height: int, width: int, dtype: np.dtype) -> None:
        self.array = np.empty((bands, height, width), dtype=dtype)

    def write(self, row: int, col: int, data: np.ndarray, band: int = 0) -> None:
        assert self.array is not None
        self.array[band : band + data.shape[0], row : row + data.shape[1], col : col + data.shape[2]] = data

    def _new(self, bands: int) -> np.ndarray:
        assert self.array is not None
        return np.empty((bands, *self.array.shape[1:]), dtype=self.array.dtype)

    def grow(self, bands: int, fill: float) -> None:
        """More bands at the end, filled with `fill` (existing bands are kept)."""
        assert self.array is not None
        old = self.array
        new = self._new(bands)
        new[: old.shape[0]] = old
        new[old.shape[0] :] = fill
        self.array = new

    def reorder_bands(self, order: list[int]) -> None:
        """Band i becomes old band order[i]; done in row blocks to keep the extra memory small."""
        assert self.array is not None
        for start in range(0, self.array.shape[1], _ROW_BLOCK):
            block = self.array[:, start : start + _ROW_BLOCK]
            block[:] = block[order]

    def result(self) -> np.ndarray | None:
        return self.array


class MemmapSink(ArraySink):
    """Assembles into a memory-mapped .npy file (`np.load(path, mmap_mode="r")` reads it back)."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)

    def allocate(self, bands: int, height: int, width: int, dtype: np.dtype) -> None:
        self.array = np.lib.format.open_memmap(self.path, mode="w+", dtype=dtype, shape=(bands, height, width))

    def grow(self, bands: int, fill: float) -> None:
        assert self.array is not None
        old = self.array
        tmp = self.path.with_name(self.path.name + ".grow")
        new = np.lib.format.open_memmap(tmp, mode="w+", dtype=old.dtype, shape=(bands, *old.shape[1:]))
        for start in range(0, old.shape[1], _ROW_BLOCK):
            new[: old.shape[0], start : start + _ROW_BLOCK] = old[:, start : start + _ROW_BLOCK]
        new[old.shape[0] :] = fill
        new.flush()
        del old
        os.replace(tmp, self.path)  # the mapping of `new` stays valid (same inode)
        self.array = new

    def result(self) -> np.ndarray | None:
        if isinstance(self.array, np.memmap):
            self.array.flush()
        return self.array
