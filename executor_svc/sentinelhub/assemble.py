"""Large requests: download pixel-aligned tiles concurrently and assemble them into one sink."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .decode import decode_response
from .grid import PixelGrid, Tile, sub_request
from .sinks import RasterSink, fill_value

log = get_logger(__name__)

# (sub-request JSON) -> (content, content type, processing units)
Fetch = Callable[[dict], Awaitable[tuple[bytes, str, float]]]


@dataclass
class Assembled:
    userdata: object | None
    nodata: float | None
    processing_units: float


def _mismatch(what: str) -> OpenEOError:
    return OpenEOError(
        "SentinelHubError",
        f"The parts of a split Sentinel Hub request returned different {what}; "
        "please request a smaller area.",
        500,
    )


def _temporal(userdata) -> tuple[list[str], list] | None:
    """(dates, bands) when userdata follows the packed time-major convention."""
    if isinstance(userdata, dict) and isinstance(userdata.get("dates"), list) and isinstance(userdata.get("bands"), list):
        return [str(d) for d in userdata["dates"]], list(userdata["bands"])
    return None


class _Layout:
    """Band layout of the assembled raster, shared by all tiles (called from executor threads).

    Tiles normally agree on bands and userdata. With the packed time-major convention
    (userdata `{"dates": [...], "bands": [...]}`) tiles may list different acquisition dates
    (Sentinel Hub finds scenes per area): the output then holds the union of dates, and each
    tile's missing dates are no-data in its window.
    """

    def __init__(self, sink: RasterSink, height: int, width: int):
        self.sink = sink
        self.height = height
        self.width = width
        self.lock = threading.Lock()
        self.count: int | None = None
        self.dtype: np.dtype | None = None
        self.userdata: object | None = None
        self.userdata_json: str | None = None
        self.nodata: float | None = None
        self.dates: list[str] | None = None
        self.bands: list | None = None
        self.grown = False
        self.descending: bool | None = None  # date order the tiles use, from the first with ≥ 2 dates

    def put(self, tile: Tile, data: np.ndarray, userdata, nodata) -> None:
        encoded = json.dumps(userdata, sort_keys=True)
        with self.lock:
            if self.count is None:
                self.sink.allocate(data.shape[0], self.height, self.width, data.dtype)
                self.count, self.dtype = data.shape[0], data.dtype
                self.userdata, self.userdata_json, self.nodata = userdata, encoded, nodata
                temporal = _temporal(userdata)
                if temporal and len(temporal[0]) * len(temporal[1]) == data.shape[0]:
                    self.dates, self.bands = temporal
                    self._learn_order(self.dates)
            if data.dtype != self.dtype:
                raise _mismatch("data types")
            if encoded == self.userdata_json and data.shape[0] == self.count and not self.grown:
                self.sink.write(tile.row, tile.col, data)
                return
            temporal = _temporal(userdata)
            if self.dates is None or temporal is None or temporal[1] != self.bands:
                raise _mismatch("bands or metadata")
            dates, bands = temporal
            self._learn_order(dates)
            per_date = len(bands)
            if len(dates) * per_date != data.shape[0]:
                raise _mismatch("band counts")
            new = [d for d in dates if d not in self.dates]
            if new:
                self.dates = self.dates + new
                self.count = len(self.dates) * per_date
                self.sink.grow(self.count, fill_value(self.dtype))
                self.grown = True
            position = {d: i for i, d in enumerate(self.dates)}
            present = set(dates)
            for j, d in enumerate(dates):
                self.sink.write(tile.row, tile.col, data[j * per_date : (j + 1) * per_date], position[d] * per_date)
            missing = [d for d in self.dates if d not in present]
            if missing:
                blank = np.full((per_date, tile.height, tile.width), fill_value(self.dtype), dtype=self.dtype)
                for d in missing:
                    self.sink.write(tile.row, tile.col, blank, position[d] * per_date)

    def _learn_order(self, dates: list[str]) -> None:
        if self.descending is None and len(dates) > 1 and dates[0] != dates[-1]:
            self.descending = dates[0] > dates[-1]

    def finish(self) -> object | None:
        """Sorts a grown date union like the first tile's order; returns the final userdata."""
        if not self.grown:
            return self.userdata
        assert self.dates is not None and self.bands is not None
        ordered = sorted(self.dates, reverse=bool(self.descending))  # chronological when unknown
        if ordered != self.dates:
            per_date = len(self.bands)
            index = {d: i for i, d in enumerate(self.dates)}
            order = [index[d] * per_date + b for d in ordered for b in range(per_date)]
            self.sink.reorder_bands(order)
        userdata = dict(self.userdata)  # type: ignore[arg-type]
        userdata["dates"] = ordered
        return userdata


def _decode_into(content: bytes, content_type: str, output_id: str, tile: Tile, layout: _Layout) -> None:
    decoded = decode_response(content, content_type, output_id)
    data = decoded.data
    if data.shape[1:] != (tile.height, tile.width):
        raise OpenEOError(
            "SentinelHubError",
            f"Sentinel Hub returned a {data.shape[2]}x{data.shape[1]} px tile where "
            f"{tile.width}x{tile.height} px were requested.",
            502,
        )
    layout.put(tile, data, decoded.userdata, decoded.nodata)


async def fetch_tiles(
    request: dict,
    grid: PixelGrid,
    tiles: list[Tile],
    *,
    fetch: Fetch,
    sink: RasterSink,
    output_id: str,
    in_flight: int,
    executor: Executor | None,
) -> Assembled:
    """Downloads `tiles` with at most `in_flight` held at once and writes each into `sink`."""
    loop = asyncio.get_running_loop()
    layout = _Layout(sink, grid.height, grid.width)
    pending = iter(tiles)
    total_pu = 0.0

    async def worker() -> None:
        nonlocal total_pu
        for tile in pending:  # shared iterator: each tile is taken by exactly one worker
            content, content_type, pu = await fetch(sub_request(request, grid, tile))
            total_pu += pu
            await loop.run_in_executor(executor, _decode_into, content, content_type, output_id, tile, layout)
            del content

    workers = max(1, min(in_flight, len(tiles)))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
    except* Exception as errors:  # surface the first failure itself, not an ExceptionGroup
        raise errors.exceptions[0] from None
    userdata = await loop.run_in_executor(executor, layout.finish)
    log.info(
        "sh_split_assembled",
        tiles=len(tiles),
        width=grid.width,
        height=grid.height,
        bands=layout.count,
        dates_merged=layout.grown,
        processing_units=total_pu,
    )
    return Assembled(userdata, layout.nodata, total_pu)
