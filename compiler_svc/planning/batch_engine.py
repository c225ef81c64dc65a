"""Which engine runs a batch job's load: the Process API (the executor cuts the area into requests)
or Sentinel Hub's Batch Processing API v2, which tiles the area on its own grids and delivers the
tiles to the results bucket (pure).

A batch job goes to the Batch API when its single load is larger than one Process API request
serves (`PlanningSettings.batch_api_min_pixels`), the rest of the graph works pixel by pixel or
applies kernels written into the graph (each tile is then delivered with a buffer of the kernels'
reach, so it can be finished on its own) and the result is a GeoTIFF (one COG per tile and date). Such a load has no size cap: Sentinel Hub's cluster does the work. The
grid follows Sentinel Hub's openEO driver: among the UTM grids the finest resolution not above
the load's (the smaller tiles on a tie), else the finest there is.
"""

from __future__ import annotations

import math

from backend_proto.v1 import compiler_pb2
from compiler_svc.config import PlanningSettings
from compiler_svc.planning.execution_order import is_per_pixel
from compiler_svc.problems import Problem, ProblemError

#: Sentinel Hub's UTM tiling grids: id → (tile size in metres, resolutions in metres)
UTM_GRIDS: dict[int, tuple[float, tuple[float, ...]]] = {
    0: (20040.0, (10.0, 20.0, 30.0, 60.0)),
    1: (10000.0, (10.0, 20.0)),
    2: (100080.0, (30.0, 60.0, 120.0, 240.0, 360.0)),
}
METRES_PER_DEGREE = 111_320.0
BATCH_MIN_PU = 100.0
BATCH_FACTOR_MIN_PX = 10_000


def load_resolution_m(load: compiler_pb2.SentinelHubLoad) -> float:
    """The pixel size the load was planned at, in metres (degrees at the equator's scale): its grid
    has whole pixels covering the extent, so the largest size that gives this many pixels."""
    res = min((load.bbox.east - load.bbox.west) / max(1, load.width - 1),
              (load.bbox.north - load.bbox.south) / max(1, load.height - 1))
    return res * METRES_PER_DEGREE if (load.bbox.epsg or 4326) == 4326 else res


def choose_grid(resolution_m: float) -> tuple[int, float]:
    """(grid id, resolution) for a load of `resolution_m` metres per pixel."""
    options = [(r, -size, gid) for gid, (size, resolutions) in UTM_GRIDS.items() for r in resolutions]
    fitting = [o for o in options if o[0] <= resolution_m * (1 + 1e-9)]
    r, _, gid = max(fitting) if fitting else min(options, key=lambda o: (o[0], -o[1]))
    return gid, r


def batch_api_plan(load: compiler_pb2.SentinelHubLoad, load_pu: float) -> compiler_pb2.BatchApiPlan:
    """The grid, resolution and Sentinel Hub's cost estimate of `load` on the Batch API."""
    res_m = load_resolution_m(load)
    gid, res = choose_grid(res_m)
    tile = UTM_GRIDS[gid][0]
    width_m, height_m = load.width * res_m, load.height * res_m
    # tiles the area touches when it does not fall on the grid's lines (one more per axis)
    tiles = (math.ceil(width_m / tile) + 1) * (math.ceil(height_m / tile) + 1)
    tile_px = (tile / res) ** 2
    factor = 1 / 3 if tile_px >= BATCH_FACTOR_MIN_PX else 1.0
    pu = load_pu * (tiles * tile_px) / max(1.0, float(load.width) * load.height) * factor
    return compiler_pb2.BatchApiPlan(grid_id=gid, resolution=res, buffer_px=0, estimated_tiles=tiles,
                                     estimated_processing_units=round(max(BATCH_MIN_PU, pu), 4))


def kernel_buffer(graph: dict, order: list[str]) -> int | None:
    """Pixels a tile needs around it to finish `order` on its own: 0 when every node works per
    pixel, the kernels' half sizes added up along the graph when it also applies kernels written
    into it; None when a node combines pixels in another way."""
    buffer = 0
    for nid in order:
        if is_per_pixel(graph, [nid]):
            continue
        node = graph[nid]
        kernel = (node.get("arguments") or {}).get("kernel")
        if (node.get("process_id") == "apply_kernel" and isinstance(kernel, list) and kernel
                and all(isinstance(row, list) and row for row in kernel)):
            buffer += max(len(kernel), max(len(row) for row in kernel)) // 2
            continue
        return None
    return buffer


def engine_for(loads: list, load_pu: float, *, batch: bool, buffer: int | None, has_sources: bool,
               output_format: str, settings: PlanningSettings) -> compiler_pb2.BatchApiPlan | None:
    """The Batch API plan when the job's load goes to the Batch API, else None. `buffer`:
    `kernel_buffer` of the rest of the graph."""
    if not batch or settings.batch_api_min_pixels <= 0 or len(loads) != 1 or has_sources:
        return None
    load = loads[0]
    if float(load.width) * load.height <= settings.batch_api_min_pixels:
        return None
    if buffer is None or output_format != "GTiff" or load.extra_inputs_json:
        return None
    engine = batch_api_plan(load, load_pu)
    engine.buffer_px = buffer
    return engine


def check_load_sizes(loads: list, engine: compiler_pb2.BatchApiPlan | None, settings: PlanningSettings) -> None:
    """The size cap of loads the executor fetches itself (the Batch API has none)."""
    if engine is not None:
        return
    for load in loads:
        if float(load.width) * load.height > settings.max_load_pixels:
            raise ProblemError(Problem(
                "ProcessGraphComplexity",
                f"The extent of node '{load.node_id}' is too large: {load.width} x {load.height} pixels at "
                f"{load_resolution_m(load):.4g} m exceeds the limit of {settings.max_load_pixels:.0f} pixels. Reduce the "
                f"spatial extent or resample to a coarser resolution.", load.node_id, "spatial_extent"))
