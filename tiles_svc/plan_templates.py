"""Reusing one compiled plan for the other tiles of a service at the same zoom (pure).

A tile's plan usually differs from its neighbour's only in the loads' bounding boxes (the tile's
Web Mercator bounds). The first tile compiled for a (service, version, tile size, zoom) becomes a
candidate template; when the *next* compiled tile's plan equals the template moved to that tile,
the template is verified and later tiles skip the compiler: their plan is the template with the
bounds replaced. If the comparison ever differs (the graph uses the tile's bounds elsewhere, e.g. in
`filter_bbox`, or the plan depends on the time of compilation), that key always compiles until
the entry expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from backend_proto.v1 import compiler_pb2

Bounds = tuple[float, float, float, float]  # west, south, east, north in EPSG:3857


def relocated(template: compiler_pb2.ExecutionPlan, bounds: Bounds) -> compiler_pb2.ExecutionPlan | None:
    """The template with every load's bbox set to `bounds`; None when a load is not a plain tile
    load (not in EPSG:3857 or limited by a geometry)."""
    plan = compiler_pb2.ExecutionPlan()
    plan.CopyFrom(template)
    for load in plan.loads:
        if load.bbox.epsg != 3857 or load.geometry_json:
            return None
        load.bbox.west, load.bbox.south, load.bbox.east, load.bbox.north = bounds
    return plan


@dataclass
class _Entry:
    plan: compiler_pb2.ExecutionPlan | None  # None: not relocatable
    verified: bool
    created: float


class PlanTemplates:
    def __init__(self, *, max_age: float = 300.0, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[tuple, _Entry] = {}

    def _fresh(self, key: tuple) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry.created >= self.max_age:
            del self._entries[key]
            return None
        return entry

    def plan_for(self, key: tuple, bounds: Bounds) -> compiler_pb2.ExecutionPlan | None:
        """The plan of the tile with these bounds from a verified template, else None (compile)."""
        entry = self._fresh(key)
        if entry is None or not entry.verified or entry.plan is None:
            return None
        return relocated(entry.plan, bounds)

    def learn(self, key: tuple, bounds: Bounds, compiled: compiler_pb2.ExecutionPlan) -> None:
        """Records the compiler's plan for the tile with these bounds."""
        entry = self._fresh(key)
        if entry is None:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = _Entry(_copy(compiled), False, self.clock())
            return
        if entry.verified or entry.plan is None:
            return
        candidate = relocated(entry.plan, bounds)
        if candidate is not None and candidate == compiled:
            entry.verified = True
        else:
            entry.plan = None  # compile every tile of this key until the entry expires


def _copy(plan: compiler_pb2.ExecutionPlan) -> compiler_pb2.ExecutionPlan:
    copy = compiler_pb2.ExecutionPlan()
    copy.CopyFrom(plan)
    return copy
