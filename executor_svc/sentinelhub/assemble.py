"""Large requests: download pixel-aligned tiles concurrently and assemble them into one sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .decode import decode_response
from .grid import PixelGrid, Tile, sub_request
from .sinks import RasterSink, _Once

log = get_logger(__name__)

# (sub-request JSON) -> (content, content type, processing units)
Fetch = Callable[[dict], Awaitable[tuple[bytes, str, float]]]


@dataclass
class Assembled:
    userdata: object | None
    nodata: float | None
    processing_units: float


class _Consistency:
    """All tiles of one request must agree on bands, data type and userdata."""

    def __init__(self):
        self.userdata_json: str | None = None
        self.userdata: object | None = None
        self.nodata: float | None = None
        self.seen = False

    def check(self, userdata: object | None, nodata: float | None) -> None:
        encoded = json.dumps(userdata, sort_keys=True)
        if not self.seen:
            self.seen, self.userdata_json, self.userdata, self.nodata = True, encoded, userdata, nodata
        elif encoded != self.userdata_json:
            raise OpenEOError(
                "SentinelHubError",
                "The parts of a split Sentinel Hub request returned different metadata (e.g. different "
                "acquisition dates); please request a smaller area or a narrower time range.",
                500,
            )


def _decode_into(
    content: bytes,
    content_type: str,
    output_id: str,
    tile: Tile,
    once: _Once,
    consistency: _Consistency,
) -> None:
    decoded = decode_response(content, content_type, output_id)
    data = decoded.data
    if data.shape[1:] != (tile.height, tile.width):
        raise OpenEOError(
            "SentinelHubError",
            f"Sentinel Hub returned a {data.shape[2]}x{data.shape[1]} px tile where "
            f"{tile.width}x{tile.height} px were requested.",
            502,
        )
    once.ensure(data.shape[0], data.dtype)
    if data.shape[0] != once.bands or data.dtype != once.dtype:
        raise OpenEOError(
            "SentinelHubError",
            "The parts of a split Sentinel Hub request returned different band counts or data types.",
            500,
        )
    consistency.check(decoded.userdata, decoded.nodata)
    once.sink.write(tile.row, tile.col, data)


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
    once = _Once(sink, grid.height, grid.width)
    consistency = _Consistency()
    pending = iter(tiles)
    total_pu = 0.0

    async def worker() -> None:
        nonlocal total_pu
        for tile in pending:  # shared iterator: each tile is taken by exactly one worker
            content, content_type, pu = await fetch(sub_request(request, grid, tile))
            total_pu += pu
            await loop.run_in_executor(
                executor, _decode_into, content, content_type, output_id, tile, once, consistency
            )
            del content

    workers = max(1, min(in_flight, len(tiles)))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
    except* Exception as errors:  # surface the first failure itself, not an ExceptionGroup
        raise errors.exceptions[0] from None
    log.info("sh_split_assembled", tiles=len(tiles), width=grid.width, height=grid.height, processing_units=total_pu)
    return Assembled(consistency.userdata, consistency.nodata, total_pu)

