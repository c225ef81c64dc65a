"""Very large batch areas: when the compiler marked the plan `spatially_splittable` (the
remaining graph works pixel by pixel, the result is a raster file), the plan is split into
spatial chunks (pixel-exact sub-grids of the same output grid) that run one after another, so
memory is bounded by one chunk (pure)."""

from __future__ import annotations

import math


def split_plan(plan, max_pixels: int) -> list[tuple[str, object]]:
    """[(chunk suffix, plan)]: the plan itself when small, not splittable or with loads on different grids; else one plan per chunk of at most `max_pixels` output pixels."""
    loads = list(plan.loads)
    if not loads or max_pixels <= 0 or not plan.spatially_splittable:
        return [("", plan)]
    first = loads[0]
    grid = (first.bbox.west, first.bbox.south, first.bbox.east, first.bbox.north, first.bbox.epsg, first.width, first.height)
    if any((l.bbox.west, l.bbox.south, l.bbox.east, l.bbox.north, l.bbox.epsg, l.width, l.height) != grid for l in loads):
        return [("", plan)]
    width, height = first.width, first.height
    if width * height <= max_pixels:
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
