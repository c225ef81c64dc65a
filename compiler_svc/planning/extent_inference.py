"""Load extents inferred from the graph (pure).

A `load_collection` without `spatial_extent` means "all data", which no back-end can load. openEO
users often restrict the area later instead: `filter_bbox`, `filter_spatial`, `aggregate_spatial`
or `mask_polygon` downstream. When every path from such a load to the result passes through one
of these (through processes that keep each pixel where it is), only the union of their areas is
needed, so that becomes the load's extent; a load with an explicit box gets its grid cut to the
whole pixels covering that area (`restricted_areas`, `spatial.cropped`: same pixel size and
alignment). Anything else keeps the extent open (and the planner refuses a too large load as before).
"""

from __future__ import annotations

import math

from compiler_svc import geo
from compiler_svc.graph import contains_ref, is_callback, iter_refs

#: Processes whose result keeps the pixels of their cube arguments where they are (no
#: neighbourhoods, no spatial reductions): a restriction after them applies before them too.
TRANSPARENT = frozenset({
    "add_dimension", "aggregate_temporal", "aggregate_temporal_period", "anomaly", "apply", "apply_dimension",
    "climatological_normal", "drop_dimension", "filter_bands", "filter_labels", "filter_temporal", "inspect",
    "mask", "merge_cubes", "ndvi", "reduce_dimension", "rename_dimension", "rename_labels",
    "resample_cube_spatial", "resample_cube_temporal", "resample_spatial", "sar_backscatter",
})

#: argument holding the area of each restricting process
RESTRICTING = {"filter_bbox": "extent", "filter_spatial": "geometries", "aggregate_spatial": "geometries",
               "mask_polygon": "mask"}

#: margin (metres) around the inferred area, so that the load's grid covers its edges
MARGIN_M = 30.0


def _consumers(graph: dict) -> dict[str, list[tuple[str, str]]]:
    """node id -> [(consumer node id, argument name)] through from_node (not inside callbacks)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for nid, node in graph.items():
        for name, value in (node.get("arguments") or {}).items():
            for ref in iter_refs(value):
                target = ref.get("from_node")
                if isinstance(target, str):
                    out.setdefault(target, []).append((nid, name))
    return out


def _area(node: dict) -> tuple[float, float, float, float] | None:
    """WGS84 bounds of a restricting node's area; None when it is not a fixed value."""
    args = node.get("arguments") or {}
    if node["process_id"] == "mask_polygon" and args.get("inside"):
        return None  # keeps the pixels outside the polygons
    value = args.get(RESTRICTING[node["process_id"]])
    if not isinstance(value, dict) or contains_ref(value) or is_callback(value):
        return None
    try:
        if "west" in value:
            return tuple(geo.extent_bounds_4326(value))
        kinds = geo.POLYGONS if node["process_id"] == "mask_polygon" else geo.GEOMETRIES
        return tuple(geo.geometry_from_geojson(value, kinds).bounds)
    except (ValueError, TypeError, KeyError):
        return None


def _restriction(graph: dict, consumers: dict, result: str, load_id: str) -> tuple[float, float, float, float] | None:
    """WGS84 bounds (with the margin) that the graph restricts the load to, or None when some path
    reaches the result or another process without a restriction."""
    areas: list[tuple[float, float, float, float]] = []
    pending, seen = [load_id], set()
    while pending:
        nid = pending.pop()
        if nid in seen:
            continue
        seen.add(nid)
        uses = consumers.get(nid, [])
        if nid == result or not uses:
            return None  # reaches the result (or a dead end) with the whole extent
        for consumer, argument in uses:
            node = graph[consumer]
            pid = node.get("process_id")
            if pid in RESTRICTING and argument == "data":
                area = _area(node)
                if area is None:
                    return None
                areas.append(area)
            elif pid in TRANSPARENT:
                pending.append(consumer)
            else:
                return None
    if not areas:
        return None
    west, south = min(a[0] for a in areas), min(a[1] for a in areas)
    east, north = max(a[2] for a in areas), max(a[3] for a in areas)
    lat = max(-89.0, min(89.0, (south + north) / 2))
    d_lat = MARGIN_M / geo.METRES_PER_DEGREE_LAT
    d_lon = MARGIN_M / (geo.METRES_PER_DEGREE_LON_EQUATOR * max(math.cos(math.radians(lat)), 1e-6))
    return (max(-180.0, west - d_lon), max(-90.0, south - d_lat), min(180.0, east + d_lon), min(90.0, north + d_lat))


def restricted_areas(graph: dict, result: str) -> dict[str, tuple[float, float, float, float]]:
    """load_collection id -> WGS84 bounds of what the graph keeps of it, for every load the graph
    restricts (one pass over the graph's references)."""
    consumers = _consumers(graph)
    out = {}
    for nid, node in graph.items():
        if node.get("process_id") == "load_collection":
            area = _restriction(graph, consumers, result, nid)
            if area is not None:
                out[nid] = area
    return out


def as_extent(area: tuple[float, float, float, float]) -> dict:
    west, south, east, north = area
    return {"west": west, "south": south, "east": east, "north": north, "crs": 4326}


def inferred_extent(graph: dict, result: str, load_id: str) -> dict | None:
    """The WGS84 bounding box (an openEO spatial extent) that the graph restricts the load to, or
    None when some path reaches the result or another process without a restriction."""
    area = _restriction(graph, _consumers(graph), result, load_id)
    return None if area is None else as_extent(area)


def with_inferred_extents(graph: dict, areas: dict) -> dict:
    """The graph with the restricted area (`restricted_areas`) as the extent of every
    load_collection that has none (a copy)."""
    out = dict(graph)
    for nid, area in areas.items():
        node = graph[nid]
        args = node.get("arguments") or {}
        if args.get("spatial_extent") is None:
            out[nid] = {**node, "arguments": {**args, "spatial_extent": as_extent(area)}}
    return out
