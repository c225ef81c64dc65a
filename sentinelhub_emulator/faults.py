"""Fault injection for tests: the next N API calls fail, are delayed, or are throttled.

Scope ``batch_tile`` targets Batch v2 tile renders instead of HTTP calls: the next ``count`` attempts at
tile ``tile`` (index in the task's tile list, or tile name; absent = any tile) fail with ``message``
and/or are delayed by ``delay_ms``. A tile failing on every attempt becomes FATAL with that message.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    status: int | None = None
    delay_ms: int = 0
    retry_after_ms: int | None = None
    count: int = 1
    scope: str = "api"  # "api" (/api/*), "token" (token endpoints), "all" or "batch_tile"
    message: str | None = None
    tile: int | str | None = None  # batch_tile: tile index or name (None: any tile)

    @classmethod
    def from_json(cls, data: dict) -> "Fault":
        if not isinstance(data, dict):
            raise ValueError("fault must be a JSON object")
        status = data.get("status")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        delay = int(data.get("delay_ms", 0))
        count = int(data.get("count", 1))
        scope = data.get("scope", "api")
        if scope not in ("api", "token", "all", "batch_tile"):
            raise ValueError("scope must be api, token, all or batch_tile")
        tile = data.get("tile")
        if tile is not None and (scope != "batch_tile" or isinstance(tile, bool) or not isinstance(tile, (int, str))):
            raise ValueError("tile (an index or a tile name) is only for scope batch_tile")
        if scope == "batch_tile":
            if status is None and delay <= 0 and not data.get("message"):
                raise ValueError("a batch_tile fault needs a message, a status and/or delay_ms")
            return cls(status, delay, None, count, scope, data.get("message"), tile)
        if status is None and delay <= 0:
            raise ValueError("a fault needs a status and/or delay_ms")
        if count < 1:
            raise ValueError("count must be >= 1")
        ra = data.get("retry_after_ms")
        return cls(status, delay, int(ra) if ra is not None else None, count, scope, data.get("message"))


class FaultInjector:
    def __init__(self):
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, kind: str) -> Fault | None:
        """Consume one use of the first fault that applies to a call of ``kind`` ("api" or "token")."""
        for f in self.faults:
            if f.scope in (kind, "all"):
                f.count -= 1
                if f.count <= 0:
                    self.faults.remove(f)
                return f
        return None

    def take_tile(self, index: int, name: str) -> Fault | None:
        """Consume one use of the first batch_tile fault for this tile."""
        for f in self.faults:
            if f.scope == "batch_tile" and f.tile in (None, index, name):
                f.count -= 1
                if f.count <= 0:
                    self.faults.remove(f)
                return f
        return None

    def describe(self) -> list[dict]:
        return [dict(vars(f)) for f in self.faults]
