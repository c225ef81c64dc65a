"""Very large batch areas: when the remaining graph works pixel by pixel, the plan is split into
spatial chunks (pixel-exact sub-grids of the same output grid) that run one after another, so
memory is bounded by one chunk (pure)."""

from __future__ import annotations

import json
import math

from executor_svc.graph.nodes import graph_nodes

#: Processes that never combine values of different pixels (at the top level of the graph).
PER_PIXEL = {
    "load_collection", "save_result", "ndvi", "normalized_difference", "apply", "linear_scale_range",
    "filter_temporal", "filter_bands", "mask", "merge_cubes", "rename_labels", "add_dimension",
    "aggregate_temporal", "aggregate_temporal_period", "drop_dimension", "rename_dimension",
}
#: Processes that are per-pixel unless they work along x or y.
ALONG_DIMENSION = {"reduce_dimension", "apply_dimension"}


def is_per_pixel(graph: dict) -> bool:
    nodes = graph_nodes(graph)
    for node in nodes.values():
        pid = node.get("process_id")
        if pid in PER_PIXEL:
            continue
        if pid in ALONG_DIMENSION and (node.get("arguments") or {}).get("dimension") not in ("x", "y"):
            continue
        return False
    return True


def split_plan(plan, max_pixels: int) -> list[tuple[str, object]]:
    """[(chunk suffix, plan)]: the plan itself when small, not per-pixel or with loads on different
    grids; else one plan per chunk of at most `max_pixels` output pixels."""
    loads = list(plan.loads)
    if not loads or max_pixels <= 0:
        return [("", plan)]
    first = loads[0]
    grid = (first.bbox.west, first.bbox.south, first.bbox.east, first.bbox.north, first.bbox.epsg, first.width, first.height)
    if any((l.bbox.west, l.bbox.south, l.bbox.east, l.bbox.north, l.bbox.epsg, l.width, l.height) != grid for l in loads):
        return [("", plan)]
    width, height = first.width, first.height
    if width * height <= max_pixels:
        return [("", plan)]
    try:
        graph = json.loads(plan.graph_json) if plan.graph_json else {}
    except ValueError:
        return [("", plan)]
    if not is_per_pixel(graph):
        return [("", plan)]
    side = max(256, int(math.sqrt(max_pixels)))
    cols, rows = math.ceil(width / side), math.ceil(height / side)
    res_x = (first.bbox.east - first.bbox.west) / width
    res_y = (first.bbox.north - first.bbox.south) / height
    chunks = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = c * side, r * side
            w, h = min(side, width - x0), min(side, height - y0)
            chunk = type(plan)()
            chunk.CopyFrom(plan)
            for load in chunk.loads:
                load.width, load.height = w, h
                load.bbox.west = first.bbox.west + x0 * res_x
                load.bbox.east = first.bbox.west + (x0 + w) * res_x
                load.bbox.north = first.bbox.north - y0 * res_y
                load.bbox.south = first.bbox.north - (y0 + h) * res_y
            chunks.append((f"_r{r}c{c}", chunk))
    return chunks
