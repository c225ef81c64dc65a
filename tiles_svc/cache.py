"""An in-memory LRU of rendered tiles plus request coalescing (one render per key at a time)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedTile:
    data: bytes
    content_type: str


class TileCache:
    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, RenderedTile] = OrderedDict()
        self._in_flight: dict[Hashable, asyncio.Future] = {}
        self.renders = 0

    def get(self, key: Hashable) -> RenderedTile | None:
        tile = self._entries.get(key)
        if tile is not None:
            self._entries.move_to_end(key)
        return tile

    def put(self, key: Hashable, tile: RenderedTile) -> None:
        self._entries[key] = tile
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def get_or_render(
        self, key: Hashable, render: Callable[[], Awaitable[RenderedTile]]
    ) -> tuple[RenderedTile, bool]:
        """The cached tile (hit=True), or the result of one render shared by all waiters."""
        tile = self.get(key)
        if tile is not None:
            return tile, True
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        future = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            self.renders += 1
            tile = await render()
            self.put(key, tile)
            future.set_result(tile)
            return tile, False
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved when nobody else waits
            raise
        finally:
            del self._in_flight[key]

    def __len__(self) -> int:
        return len(self._entries)
