"""aggregate_spatial answered by Sentinel Hub's Statistical API instead of a raster load.

Planned when the node's `data` is a pushed-down load used by nothing else, its `geometries` are
fixed GeoJSON polygons, its reducer is one process the Statistical API computes, and every
geometry's sample grid fits one request. Each geometry gets the pixels of the load's grid that
cover it (same pixel size and alignment, so the statistics are over the raster path's pixels);
the evalscript returns one output per band and a `dataMask` per output that is 1 where the value
is not NaN (what openEO's reducers skip). A job with many geometries (`batch_statistics_min_geometries`)
is one Batch Statistical request instead of one request per geometry."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from backend_proto.v1 import compiler_pb2
from compiler_svc import geo
from compiler_svc.planning.evalscript import HELPERS
from compiler_svc.planning.pushdown import Cover, consumers

#: reducers whose value the statistics give (sd/variance: the sample statistics, as openEO's)
REDUCERS = ("mean", "min", "max", "sd", "variance", "count", "median", "sum", "quantiles")
MAX_SIDE = 2500  # the Statistical API's largest sample matrix side
#: above this many sample pixels, a geometry is assumed to contain a pixel centre (not tested)
_CENTRE_TEST_PIXELS = 4_000_000


@dataclass(frozen=True)
class Reducer:
    process_id: str
    probability: float = 0.0


def statistical_reducer(node: dict) -> Reducer | None:
    """The reducer of an aggregate_spatial node when it is one supported process of its `data`
    with the default no-data handling; None otherwise."""
    callback = (node.get("arguments") or {}).get("reducer")
    graph = callback.get("process_graph") if isinstance(callback, dict) else None
    if not isinstance(graph, dict) or len(graph) != 1:
        return None
    (inner,) = graph.values()
    pid = inner.get("process_id")
    args = dict(inner.get("arguments") or {})
    if pid not in REDUCERS or inner.get("namespace") not in (None, "backend"):
        return None
    if args.pop("data", None) != {"from_parameter": "data"}:
        return None
    if args.pop("ignore_nodata", True) is not True:
        return None
    if pid == "count":
        if args.pop("condition", None) is not None:
            return None
        args.pop("context", None)
    if pid == "quantiles":
        probabilities, q = args.pop("probabilities", None), args.pop("q", None)
        if q == 2 and probabilities is None:
            probabilities = [0.5]
        if (not isinstance(probabilities, list) or len(probabilities) != 1 or isinstance(probabilities[0], bool)
                or not isinstance(probabilities[0], (int, float)) or not 0 <= probabilities[0] <= 1):
            return None
        return Reducer(pid, float(probabilities[0])) if not args else None
    return Reducer(pid) if not args else None


def split_polygons(value) -> list[BaseGeometry] | None:
    """The geometries of aggregate_spatial's GeoJSON in the executor's order (one per feature /
    member); None unless they are all polygons."""
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    try:
        if kind == "FeatureCollection":
            out = []
            for feature in value.get("features") or []:
                part = split_polygons(feature)
                if part is None:
                    return None
                out += part
            return out
        if kind == "Feature":
            geometry = value.get("geometry")
            return [] if geometry is None else split_polygons(geometry)
        if kind == "GeometryCollection":
            members = [split_polygons(g) for g in value.get("geometries") or []]
            return None if any(m is None for m in members) else [g for m in members for g in m]
        if kind in geo.POLYGONS:
            geom = shapely.geometry.shape(value)
            return None if geom.is_empty else [geom if geom.is_valid else geom.buffer(0)]
    except Exception:  # noqa: BLE001 - anything unreadable stays with the executor (it reports it)
        return None
    return None


def sample_grid(geom: BaseGeometry, load: compiler_pb2.SentinelHubLoad) -> compiler_pb2.StatisticalGeometry | None:
    """The pixels of the load's grid whose centres lie within the geometry's bounds, with the
    geometry (in the grid's CRS, cut to the load's own polygon); None when larger than one request."""
    b = load.bbox
    rx, ry = (b.east - b.west) / load.width, (b.north - b.south) / load.height
    if load.geometry_json:
        geom = geom.intersection(shapely.geometry.shape(json.loads(load.geometry_json)))
    minx, miny, maxx, maxy = geom.bounds if not geom.is_empty else (0.0, 0.0, -1.0, -1.0)
    c0 = max(0, math.ceil((minx - b.west) / rx - 0.5))
    c1 = min(load.width - 1, math.floor((maxx - b.west) / rx - 0.5))
    r0 = max(0, math.ceil((b.north - maxy) / ry - 0.5))
    r1 = min(load.height - 1, math.floor((b.north - miny) / ry - 0.5))
    if geom.is_empty or c0 > c1 or r0 > r1:
        return compiler_pb2.StatisticalGeometry(bbox=compiler_pb2.BoundingBox(epsg=b.epsg))
    width, height = c1 - c0 + 1, r1 - r0 + 1
    if max(width, height) > MAX_SIDE:
        return None
    out = compiler_pb2.StatisticalGeometry(
        bbox=compiler_pb2.BoundingBox(west=b.west + c0 * rx, south=b.north - (r1 + 1) * ry,
                                      east=b.west + (c1 + 1) * rx, north=b.north - r0 * ry, epsg=b.epsg),
        width=width, height=height)
    if width * height <= _CENTRE_TEST_PIXELS:
        xs = b.west + (np.arange(c0, c1 + 1) + 0.5) * rx
        ys = b.north - (np.arange(r0, r1 + 1) + 0.5) * ry
        xx, yy = np.meshgrid(xs, ys)
        shapely.prepare(geom)
        if not shapely.intersects_xy(geom, xx, yy).any():
            return out  # no pixel: the raster path's NaN, no request
    out.geometry_json = json.dumps(shapely.geometry.mapping(geom))
    return out


def statistics_evalscript(cover: Cover, n_out: int) -> str:
    """Outputs o0..o{n-1} (one band each, the load's expressions) and a `dataMask` per output."""
    sym = cover.sym
    inputs = {"bands": list(sym.reads) + ["dataMask"]}
    outputs = [{"id": f"o{i}", "bands": 1, "sampleType": "FLOAT32"} for i in range(n_out)]
    outputs.append({"id": "dataMask", "bands": [f"o{i}" for i in range(n_out)], "sampleType": "UINT8"})
    setup = {"input": [inputs], "output": outputs, "mosaicking": "SIMPLE" if sym.mode == "simple" else "ORBIT"}
    nodata = "{" + ",".join(f"{json.dumps(b)}:NaN" for b in sym.reads) + ",dataMask:0}"
    values = ",".join(f"o{i}:[v[{i}]]" for i in range(n_out))
    masks = ",".join(f"v[{i}]===v[{i}]?1:0" for i in range(n_out))
    return "\n".join([
        "//VERSION=3",
        f"// compiler_svc: statistics of load {min(sym.loads)} -> node {cover.result}",
        f"function setup(){{return {json.dumps(setup, separators=(',', ':'))};}}",
        f"var NODATA={nodata};",
        HELPERS,
        "function evaluatePixel(samples,scenes){var S=prep(samples,scenes);var s=S.length?S[0]:NODATA;"
        f"var v=[{','.join(sym.exprs)}];return {{{values},dataMask:[{masks}]}};}}",
    ]) + "\n"


def _interval(load: compiler_pb2.SentinelHubLoad, temporal: bool) -> str | None:
    """"P1D" for a cube over time (an interval per acquisition day, starting at midnight), else one
    interval over the whole range; None when the range does not start at midnight (the
    intervals would not start on the raster path's dates)."""
    if not load.time_from:
        return None
    t_from, t_to = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (load.time_from, load.time_to))
    if temporal:
        midnight = (t_from.hour, t_from.minute, t_from.second, t_from.microsecond) == (0, 0, 0, 0)
        return "P1D" if midnight else None
    days = max(1, math.ceil((t_to - t_from).total_seconds() / 86400))
    return f"P{days}D"


def plan_statistics(graph: dict, covers: list[Cover], loads: list, *, purpose: int, batch_min_geometries: int
                    ) -> tuple[list[compiler_pb2.StatisticalAggregation], set[str]]:
    """(the statistical aggregations, the node ids of the loads they replace)."""
    users = consumers(graph)
    by_result = {c.result: (c, load) for c, load in zip(covers, loads)}
    out, replaced = [], set()
    for nid, node in graph.items():
        if node.get("process_id") != "aggregate_spatial" or node.get("namespace") not in (None, "backend"):
            continue
        args = node.get("arguments") or {}
        source = args.get("data")
        if not isinstance(source, dict) or set(source) != {"from_node"} or source["from_node"] not in by_result:
            continue
        cover, load = by_result[source["from_node"]]
        if users[cover.result] != {nid} or set(args) - {"data", "geometries", "reducer", "target_dimension", "context"}:
            continue
        if args.get("target_dimension") not in (None, "result"):
            continue
        reducer = statistical_reducer(node)
        geoms = split_polygons(args.get("geometries"))
        if reducer is None or not geoms:
            continue
        temporal = cover.sym.mode == "temporal"
        interval = _interval(load, temporal)
        if interval is None:
            continue
        grids = [sample_grid(geo.transform_geometry(g, 4326, load.bbox.epsg), load) for g in geoms]
        if any(grid is None for grid in grids):
            continue
        labels = list(load.band_labels)
        out.append(compiler_pb2.StatisticalAggregation(
            node_id=nid, load_node_id=load.node_id, collection_id=load.collection_id, sh_type=load.sh_type,
            sh_deployment=load.sh_deployment, geometries=grids, geometries_json=json.dumps(args["geometries"]),
            time_from=load.time_from, time_to=load.time_to, interval=interval, temporal=temporal,
            evalscript=statistics_evalscript(cover, max(1, len(labels))), data_filter_json=load.data_filter_json,
            processing_json=load.processing_json, band_labels=labels, reducer=reducer.process_id,
            probability=reducer.probability,
            batch=purpose == compiler_pb2.PURPOSE_BATCH and len(geoms) >= batch_min_geometries))
        replaced.add(load.node_id)
    return out, replaced


def statistics_estimates(agg: compiler_pb2.StatisticalAggregation, load: compiler_pb2.SentinelHubLoad,
                         stats: dict) -> dict:
    """The planner's estimates (`build_load`'s keys) of the statistics that replace `load` (whose
    estimates are `stats`): the geometries' sample grids over the load's dates, §2.6 PU for the
    Statistical API (no format factor, 0.01 minimum), a few bytes per value."""
    dates = stats["grid_pixels_dates"] / max(1, load.width * load.height)
    n_inputs = stats["pixels"] / max(1.0, stats["grid_pixels_dates"])
    pixels = sum(g.width * g.height for g in agg.geometries if g.geometry_json)
    pu = sum(max(0.01, g.width * g.height / (512 * 512)) * n_inputs / 3 * dates
             for g in agg.geometries if g.geometry_json)
    return {"pixels": pixels * dates * n_inputs, "grid_pixels_dates": pixels * dates, "pu": max(0.01, pu),
            "bytes": int(len(agg.geometries) * dates * max(1, len(agg.band_labels)) * 200)}
