"""Graph → ExecutionPlan: Sentinel Hub loads (grid, time, filters, evalscript) + the rest for the executor."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

from backend_common.processing_units import request_pu
from backend_proto.v1 import compiler_pb2
from compiler_svc import geo
from compiler_svc.collections.catalogue import catalogue
from compiler_svc.collections.load_options import sentinel_hub_options
from compiler_svc.config import PlanningSettings
from compiler_svc.graph import check_structure
from compiler_svc.planning import spatial
from compiler_svc.planning.band_names import unlabeled_band_name
from compiler_svc.planning.batch_engine import check_load_sizes, engine_for, kernel_buffer
from compiler_svc.planning.extent_inference import restricted_areas, with_inferred_extents
from compiler_svc.output_formats import canonical_format, output_format
from compiler_svc.planning.evalscript import build_evalscript, build_image_evalscript
from compiler_svc.planning.execution_order import executor_graph, needed_order
from compiler_svc.planning.inline import flatten
from compiler_svc.planning.result_sources import result_sources
from compiler_svc.planning.sar import s1_pu_factor, sar_processing
from compiler_svc.planning.size_limits import check_sizes
from compiler_svc.planning.statistics import plan_statistics, statistics_estimates
from compiler_svc.planning.pushdown import RESAMPLE_METHODS, Cover, analyse, choose_covers
from compiler_svc.problems import Problem, ProblemError, invalid
from compiler_svc.validation.schemas import parse_instant

UPSAMPLING_ONLY = ("sentinel-1-", "sentinel-3-", "sentinel-5p-")


def _fail(problem: Problem):
    raise ProblemError(problem)


def _iso(dt: datetime) -> str:
    text = dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def time_range(temporal_extent, coll, now: datetime) -> tuple[datetime, datetime]:
    """Inclusive [from, to] for Sentinel Hub from openEO's left-closed interval."""
    start = end = None
    if isinstance(temporal_extent, list):
        start, end = (parse_instant(v) if isinstance(v, str) else None for v in temporal_extent)
    c_start, c_end = coll.time_extent
    t_from = start.replace(tzinfo=timezone.utc) if start else (c_start or datetime(1970, 1, 1, tzinfo=timezone.utc))
    if end is not None:
        t_to = end.replace(tzinfo=timezone.utc) - timedelta(microseconds=1)
        # no data after the collection's end (now, for an ongoing one): an end in year 9999 asks
        # Sentinel Hub, and counts dates, only up to there
        t_to = min(t_to, c_end or now)
    else:
        t_to = c_end or now
    return t_from, t_to


def property_options(properties: dict | None, coll, node_id: str) -> tuple[dict, dict]:
    """Sentinel Hub (dataFilter, processing) entries of load_collection's `properties` (the
    catalogue's queryables, `compiler_svc.collections.load_options`)."""
    try:
        return sentinel_hub_options(properties, coll.sh_type)
    except ValueError as exc:
        _fail(invalid("load_collection", node_id, "properties", str(exc)))


def _grid(cover: Cover, args: dict, coll, tile, res_m: float, node_id: str, area=None) -> spatial.Grid:
    opts = cover.sym.opts()
    resample = opts.get("resample")
    if tile is not None:
        bounds, epsg, geom = (tile.west, tile.south, tile.east, tile.north), tile.epsg or 3857, None
        return spatial.Grid(*bounds, epsg, tile.size or 256, tile.size or 256)
    extent = args.get("spatial_extent")
    if extent is None:
        bounds, epsg, geom = coll.bbox, 4326, None
    else:
        try:
            bounds, epsg, geom = geo.extent_bounds(extent)
        except ValueError as exc:
            _fail(invalid("load_collection", node_id, "spatial_extent", str(exc)))
    if resample and resample.get("projection") is not None:
        try:
            target = geo.epsg_of(resample["projection"])
        except ValueError as exc:  # a projection that reached planning (e.g. from a parameter)
            _fail(invalid("resample_spatial", node_id, "projection", str(exc)))
        if geom is not None:
            geom = geo.transform_geometry(geom, epsg, target)
            bounds = tuple(geom.bounds)
        else:
            bounds = geo.transform_bounds(bounds, epsg, target)
        epsg = target
    resolution = resample.get("resolution", 0) if resample else 0
    if isinstance(resolution, list):
        rx, ry = resolution
    else:
        rx = ry = resolution
    if rx and ry:
        width, height = spatial.size_for(bounds, epsg, float(rx), float(ry))
    else:
        width, height = spatial.size_for_metres(bounds, epsg, res_m)
    if area is not None and geom is not None:  # a polygon load masks to what later filters keep of it too
        geom = spatial.clipped_geometry(geom, epsg, area)
    geometry = None
    if geom is not None:
        geometry = json.loads(json.dumps(geom.__geo_interface__))
    grid = spatial.Grid(*bounds, epsg, width, height, geometry)
    if area is not None:  # only the whole pixels covering what later filters keep
        grid = spatial.cropped(grid, area)
    return grid


def build_load(cover: Cover, graph: dict, position: dict, tile, now: datetime,
               areas: dict | None = None, settings: PlanningSettings = PlanningSettings()
               ) -> tuple[compiler_pb2.SentinelHubLoad, dict]:
    sym = cover.sym
    primary = min(sym.loads, key=position.get)
    args = graph[primary]["arguments"]
    coll = catalogue()[sym.collection]
    opts = sym.opts()
    gsds = [g for b in sym.reads if b in coll.band_names and (g := coll.gsd(b)) is not None] or [10.0]
    res_m = min(gsds)
    grid = _grid(cover, args, coll, tile, res_m, primary, (areas or {}).get(primary))
    # the size cap is checked once the engine is known (batch_engine.check_load_sizes)
    data_filter: dict = coll.data_filter_defaults
    property_filter, property_processing = property_options(args.get("properties"), coll, primary)
    dates = 1
    t_from = t_to = None
    if coll.temporal:
        t_from, t_to = time_range(args.get("temporal_extent"), coll, now)
        if t_to < t_from:
            _fail(invalid("load_collection", primary, "temporal_extent", "the interval is empty"))
        data_filter["timeRange"] = {"from": _iso(t_from), "to": _iso(t_to)}
        data_filter["mosaickingOrder"] = opts.get("order", "mostRecent")
        days = (t_to - t_from).total_seconds() / 86400.0
        dates = max(1, math.ceil(days / coll.revisit_days)) if sym.mode != "simple" else 1
    data_filter.update(property_filter)
    if coll.dem_instance:
        data_filter["demInstance"] = coll.dem_instance
    processing: dict = coll.processing_defaults | property_processing
    pu_factor = 1.0
    if "resample" in opts:
        method = RESAMPLE_METHODS[opts["resample"]["method"]]
        processing["upsampling"] = method
        if not coll.sh_type.startswith(UPSAMPLING_ONLY):  # they resample with `upsampling` alone (§6.0)
            processing["downsampling"] = method
    if "sar" in opts:
        sar_node = next(n for n in cover.absorbed + [cover.result] if graph[n]["process_id"] == "sar_backscatter")
        processing.update(sar_processing(opts["sar"], sar_node))
    if coll.is_sar:  # CARD4L's defaults cost as much as the same sar_backscatter
        pu_factor = s1_pu_factor(processing)
    labels = list(sym.labels) if sym.labels is not None else []
    evalscript = build_evalscript(input_bands=list(sym.reads), labels=labels, exprs=list(sym.exprs), mode=sym.mode,
                                  comment=f"compiler_svc: load {primary} -> node {cover.result}")
    load = compiler_pb2.SentinelHubLoad(
        node_id=primary, collection_id=coll.id, sh_type=coll.sh_type, sh_deployment=coll.sh_deployment,
        bbox=compiler_pb2.BoundingBox(west=grid.west, south=grid.south, east=grid.east, north=grid.north, epsg=grid.epsg),
        width=grid.width, height=grid.height,
        geometry_json=json.dumps(grid.geometry) if grid.geometry else "",
        time_from=_iso(t_from) if t_from else "", time_to=_iso(t_to) if t_to else "",
        mosaicking="SIMPLE" if sym.mode == "simple" else "ORBIT",
        evalscript=evalscript, data_filter_json=json.dumps(data_filter), processing_json=json.dumps(processing),
        band_labels=labels, temporal=sym.mode == "temporal", absorbed_node_ids=cover.absorbed,
        result_node_id=cover.result,
    )
    n_in = max(1, len(sym.reads))
    n_billed = max(1, len([b for b in sym.reads if b != "dataMask"]))  # SH bills no dataMask (§2.6)
    pixels = grid.width * grid.height
    stats = {
        "pixels": float(pixels * dates * n_in),
        "grid_pixels_dates": float(pixels * dates),
        # rough (dates from the revisit time, one request): the exact figure is the executor's
        # EstimateCosts, which counts the acquisitions and the requests really sent
        "pu": request_pu(grid.width, grid.height, n_billed, samples=dates, s1_factor=pu_factor),
        "bytes": int(pixels * max(1, len(sym.exprs)) * (dates if sym.mode == "temporal" else 1) * 4),
    }
    return load, stats


def _output(graph: dict, result: str, wanted: str = "") -> compiler_pb2.OutputFormat:
    """The result's format: the result's save_result (else the first one), else GTiff by default;
    `wanted` (a tile service's format) replaces it, keeping the options only when they were
    written for that same format."""
    saves = [n for n, node in graph.items() if node["process_id"] == "save_result"]
    nid = (result if result in saves else saves[0]) if saves else ""
    args = graph[nid]["arguments"] if nid else {}
    if wanted:
        same = canonical_format(args.get("format")) == canonical_format(wanted)
        return output_format(wanted, (args.get("options") or {}) if same else {})
    if not nid:
        return output_format("GTiff", defaulted=True)
    return output_format(args.get("format"), args.get("options") or {}, node_id=nid)


IMAGE_MAX_SIDE = 2500  # the executor's Sentinel Hub client never splits a request up to this size


def load_stac_as_load_result(graph: dict) -> dict:
    """load_stac nodes as the load_result of the batch job results their URL points to (pure; the
    executor resolves the URL and refuses any that is not this back-end's)."""
    out = dict(graph)
    for nid, node in graph.items():
        if node.get("process_id") == "load_stac" and node.get("namespace") in (None, "backend"):
            args = node.get("arguments") or {}
            kept = {k: args[k] for k in ("spatial_extent", "temporal_extent", "bands") if k in args}
            out[nid] = {k: v for k, v in node.items() if k not in ("process_id", "arguments")} | {
                "process_id": "load_result", "arguments": {"id": args.get("url"), **kept}}
    return out


def image_fast_path(graph: dict, result: str, cover: Cover, output: compiler_pb2.OutputFormat) -> bool:
    """True when the load of `cover` alone makes the result image: the graph is only the absorbed
    nodes, their result and a `save_result` (the result node) of it as PNG without scaling options,
    with 1 or 3 bands. Temporal loads qualify too: the executor checks there is exactly one date."""
    save = graph.get(result) or {}
    if save.get("process_id") != "save_result" or set(graph) != set(cover.sym.nodes) | {result}:
        return False
    if (save.get("arguments") or {}).get("data") != {"from_node": cover.result}:
        return False
    if output.format != "PNG" or set(json.loads(output.options_json or "{}")) - {"filename_prefix"}:
        return False
    return len(cover.sym.exprs) in (1, 3)


#: Format options the GTiff pass-through honours (anything else needs the cube).
PASSTHROUGH_OPTIONS = {"filename_prefix"}


def _saves_seeded(graph: dict, order: list[str], result: str, seeded: str) -> bool:
    """True when the executor has nothing to do but save the seeded cube: the result is the
    seeded node, or a plain save_result of it."""
    if not order:
        return result == seeded
    node = graph[result]
    args = node.get("arguments") or {}
    return (order == [result] and node.get("process_id") == "save_result"
            and node.get("namespace") in (None, "backend") and not set(args) - {"data", "format", "options"}
            and args.get("data") == {"from_node": seeded})


def result_strategy(loads: list, sources: list, graph: dict, order: list[str], result: str,
                    output: compiler_pb2.OutputFormat) -> int:
    """How the executor makes the result file (see `ResultStrategy` in compiler.proto)."""
    if len(loads) != 1 or sources or max(loads[0].width, loads[0].height) > IMAGE_MAX_SIDE:
        return compiler_pb2.RESULT_STRATEGY_CUBE
    load = loads[0]
    if load.image_evalscript and load.image_format == output.format:
        return compiler_pb2.RESULT_STRATEGY_IMAGE
    options = set(json.loads(output.options_json or "{}"))
    if (output.format == "GTiff" and not options - PASSTHROUGH_OPTIONS
            and _saves_seeded(graph, order, result, load.result_node_id or load.node_id)):
        return compiler_pb2.RESULT_STRATEGY_GTIFF_PASSTHROUGH
    return compiler_pb2.RESULT_STRATEGY_CUBE


def plan(process: dict, *, udps: dict, parameter_values: dict, purpose: int, tile=None,
         now: datetime | None = None, pushdown: bool = True, wanted_format: str = "",
         settings: PlanningSettings = PlanningSettings()) -> compiler_pb2.ExecutionPlan:
    """The plan for an already validated process.

    `pushdown=False` keeps every per-pixel computation out of the evalscript: each load only reads
    its bands (load parameters such as resample_spatial / sar_backscatter still go to Sentinel Hub)
    and the executor runs the rest. Meant for differential testing of the push-down."""
    now = now or datetime.now(timezone.utc)
    graph, result, used = flatten(process, udps, parameter_values)
    check_sizes(graph, settings)
    graph = load_stac_as_load_result(graph)
    # what later filters keep of each load (not for tiles: their loads take the tile's bounds): a
    # load without extent takes it, an explicit box gets its grid cut to it (same alignment)
    areas = {} if tile is not None else restricted_areas(graph, result)
    cut = {nid: a for nid, a in areas.items() if (graph[nid].get("arguments") or {}).get("spatial_extent") is not None}
    graph = with_inferred_extents(graph, areas)
    problems, _, order = check_structure(graph)
    if problems:
        raise ProblemError(problems[0])
    syms = analyse(graph, order)
    if not pushdown:
        syms = {nid: sym for nid, sym in syms.items() if sym.raw}
    covers = choose_covers(graph, order, syms, result)
    covered = set()
    for c in covers:
        covered |= c.sym.loads
    for nid in order:
        pid = graph[nid]["process_id"]
        if pid == "load_collection" and nid not in covered:
            _fail(invalid("load_collection", nid, "spatial_extent", "the arguments could not be resolved to fixed values"))
        if pid == "sar_backscatter" and not any(nid in c.sym.nodes for c in covers):
            _fail(invalid("sar_backscatter", nid, "data",
                          "sar_backscatter must be applied directly to a SENTINEL1_GRD load_collection"))
    position = {nid: i for i, nid in enumerate(order)}
    covers.sort(key=lambda c: position[min(c.sym.loads, key=position.get)])
    loads, total = [], {"pixels": 0.0, "grid_pixels_dates": 0.0, "pu": 0.0, "bytes": 0}
    built = {}
    for cover in covers:
        load, stats = build_load(cover, graph, position, tile, now, cut, settings)
        loads.append(load)
        built[load.node_id] = (load, stats)
        for k in total:
            total[k] += stats[k]
    statistical, replaced = [], set()
    if settings.statistical_api and tile is None:
        statistical, replaced = plan_statistics(graph, covers, loads, purpose=purpose,
                                                batch_min_geometries=settings.batch_statistics_min_geometries)
    for agg in statistical:  # no raster download: the statistics' pixels and cost instead of the load's
        load, stats = built[agg.load_node_id]
        instead = statistics_estimates(agg, load, stats)
        for k in total:
            total[k] += instead[k] - stats[k]
    covers = [c for c, load in zip(covers, loads) if load.node_id not in replaced]
    loads = [load for load in loads if load.node_id not in replaced]
    if purpose == compiler_pb2.PURPOSE_SYNC:
        limit = settings.sync_max_pixels
        if total["grid_pixels_dates"] > limit:
            _fail(Problem("ProcessGraphComplexity",
                          f"The process is too complex for synchronous processing ({total['grid_pixels_dates']:.0f} pixels x dates "
                          f"> {limit:.0f}). Please use a batch job instead."))
    output = _output(graph, result, wanted_format)
    output.band_name = unlabeled_band_name(graph, result)
    if len(covers) == 1 and image_fast_path(graph, result, covers[0], output):
        cover, load = covers[0], loads[0]
        load.image_format = output.format
        load.image_evalscript = build_image_evalscript(
            input_bands=list(cover.sym.reads), labels=list(load.band_labels), exprs=list(cover.sym.exprs),
            mode=cover.sym.mode, comment=f"compiler_svc: image of load {load.node_id} -> node {cover.result}")
    # what the executor evaluates: the nodes the result needs that no load or result source seeds
    order = needed_order(graph, result, {load.result_node_id or load.node_id for load in loads}
                         | {agg.node_id for agg in statistical})
    sources = result_sources(graph, order, settings.public_url)
    sourced = {source.node_id for source in sources}
    order = [nid for nid in order if nid not in sourced]
    engine = engine_for(loads, total["pu"], batch=purpose == compiler_pb2.PURPOSE_BATCH,
                        buffer=kernel_buffer(graph, order), has_sources=bool(sources), output_format=output.format,
                        settings=settings)
    check_load_sizes(loads, engine, settings)
    return compiler_pb2.ExecutionPlan(
        loads=loads, graph_json=json.dumps(executor_graph(graph, order)), result_node_id=result, output=output,
        node_order=order, result_sources=sources, batch_api=engine,
        strategy=result_strategy(loads, sources, graph, order, result, output),
        output_if_not_raster=output_format("JSON") if output.defaulted else None,
        estimated_pixels=total["pixels"],
        # what Sentinel Hub bills the job: a Batch API task's rules when it runs there
        estimated_processing_units=engine.estimated_processing_units if engine else round(total["pu"], 4),
        estimated_bytes=int(total["bytes"]), estimated_seconds=round(1.0 + total["pixels"] / 2e7 + total["pu"] * 0.05, 2),
        process_json=json.dumps(process), used_udps=used,
        single_image=purpose == compiler_pb2.PURPOSE_TILE, statistical_aggregations=statistical,
    )
