"""The compiler's operations without gRPC: validate / compile / validate a UDP.

User-defined processes are fetched beforehand through an async `fetch_udp(id) -> dict | None`
(the store in production, a dict in tests), then everything else is pure.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from backend_proto.v1 import compiler_pb2
from compiler_svc import process_specs
from compiler_svc.config import PlanningSettings
from compiler_svc.graph import check_size, node_shape_problems, parse_process, udp_references
from compiler_svc.planning.planner import plan
from compiler_svc.problems import Problem, ProblemError
from compiler_svc.validation.validator import UDP_ID, ValidationContext, parameter_problems, validate_process

FetchUdp = Callable[[str], Awaitable[dict | None]]
#: Runs a CPU-bound call `fn(*args)` somewhere (the service: its thread pool), returning its result.
Offload = Callable[..., Awaitable[Any]]


async def inline(fn, *args):
    """The default Offload: on the caller's thread (tests, benchmarks)."""
    return fn(*args)
MAX_UDPS = 50


async def collect_udps(graph: dict, fetch: FetchUdp) -> dict[str, dict]:
    found: dict[str, dict] = {}
    pending = list(udp_references(graph))
    while pending:
        udp_id = pending.pop()
        if udp_id in found or not isinstance(udp_id, str):
            continue
        if len(found) >= MAX_UDPS:
            break
        udp = await fetch(udp_id)
        if udp is None or not isinstance(udp.get("process_graph"), dict):
            continue  # reported as ProcessUnsupported by validation
        found[udp_id] = udp
        pending.extend(udp_references(udp["process_graph"]) - set(found))
    return found


def tile_parameters(tile) -> dict:
    if tile is None:
        return {}
    return {"spatial_extent_west": tile.west, "spatial_extent_south": tile.south, "spatial_extent_east": tile.east,
            "spatial_extent_north": tile.north, "spatial_extent_crs": tile.epsg or 3857, "tile_size": tile.size or 256}


def _parameter_values(parameters_json: str) -> dict:
    if not parameters_json:
        return {}
    try:
        values = json.loads(parameters_json)
    except ValueError:
        raise ProblemError(Problem("ProcessGraphInvalid", "The parameter values are not valid JSON.")) from None
    if not isinstance(values, dict):
        raise ProblemError(Problem("ProcessGraphInvalid", "The parameter values must be a JSON object."))
    return values


async def validate(process_json: str, fetch: FetchUdp, *, purpose: int = 0, tile=None, parameters_json: str = "",
                   executing: bool = False, offload: Offload | None = None,
                   max_nodes: int = PlanningSettings.max_nodes) -> tuple[list[Problem], dict | None, dict, dict]:
    """(problems, process, udps, parameter values)."""
    try:
        process, values, udps = await _prepared(process_json, fetch, tile, parameters_json, max_nodes)
    except ProblemError as exc:
        return [exc.problem], None, {}, {}
    ctx = ValidationContext(udps=udps, tile=tile is not None, parameter_values=values, executing=executing)
    return await (offload or inline)(validate_process, process, ctx), process, udps, values


async def _prepared(process_json: str, fetch: FetchUdp, tile, parameters_json: str,
                    max_nodes: int) -> tuple[dict, dict, dict]:
    """(process, parameter values incl. the tile's, UDPs it uses); ProblemError for unparsable input
    and for graphs above `max_nodes` nodes (counted before anything else is done with them)."""
    process = parse_process(process_json)
    check_size(process, max_nodes)
    values = {**tile_parameters(tile), **_parameter_values(parameters_json)}
    udps = await collect_udps(process["process_graph"], fetch)
    check_size({"process_graph": {}, "udps": [process, *udps.values()]}, max_nodes,
               "The process graph with the user-defined processes it calls")
    return process, values, udps


# Web Mercator bounds of tile z=12, x=2048, y=2047 (just north-east of 0°N 0°E), 256 px.
SAMPLE_TILE = compiler_pb2.TileBounds(west=0.0, south=0.0, east=9783.939620, north=9783.939620, epsg=3857, size=256)


async def validate_all(process_json: str, fetch: FetchUdp, *, purpose: int = 0, tile=None,
                       parameters_json: str = "", offload: Offload | None = None,
                       settings: PlanningSettings = PlanningSettings()) -> list[Problem]:
    """Validation problems, plus the planning problem (e.g. an extent too large) when the graph is valid.

    A graph published as a tile service is checked as it will run: for a tile (its own extent is
    replaced by each tile's bounds), here a representative zoom-12 tile.
    """
    if purpose == compiler_pb2.PURPOSE_TILE and tile is None:
        tile = SAMPLE_TILE
    problems, process, udps, values = await validate(process_json, fetch, purpose=purpose, tile=tile,
                                                     parameters_json=parameters_json, offload=offload,
                                                     max_nodes=settings.max_nodes)
    if problems or process is None:
        return problems
    if any(isinstance(p, dict) and "default" not in p and not p.get("optional") and p.get("name") not in values
           for p in process.get("parameters") or []):
        return problems  # a process with open parameters cannot be planned yet
    try:
        await (offload or inline)(functools.partial(plan, process, udps=udps, parameter_values=values, purpose=purpose,
                                                    tile=tile, settings=settings))
    except ProblemError as exc:
        return [exc.problem]
    return []


async def compile_process(process_json: str, fetch: FetchUdp, *, purpose: int = 0, tile=None, parameters_json: str = "",
                          pushdown: bool = True, output_format: str = "", offload: Offload | None = None,
                          settings: PlanningSettings = PlanningSettings()):
    """The execution plan, or ProblemError with the first problem. The CPU work (validation and
    planning) runs through `offload` in one piece: the service passes its thread pool.
    `output_format` replaces the graph's save_result format (tiles)."""
    process, values, udps = await _prepared(process_json, fetch, tile, parameters_json, settings.max_nodes)
    return await (offload or inline)(functools.partial(
        _checked_plan, process, udps=udps, values=values, purpose=purpose, tile=tile, pushdown=pushdown,
        output_format=output_format, settings=settings))


def _checked_plan(process: dict, *, udps: dict, values: dict, purpose: int, tile, pushdown: bool, output_format: str,
                  settings: PlanningSettings):
    ctx = ValidationContext(udps=udps, tile=tile is not None, parameter_values=values, executing=True)
    problems = validate_process(process, ctx)
    if problems:
        raise ProblemError(problems[0])
    return plan(process, udps=udps, parameter_values=values, purpose=purpose, tile=tile, pushdown=pushdown,
                wanted_format=output_format, settings=settings)


async def validate_user_process(process_json: str, fetch: FetchUdp, *, offload: Offload | None = None,
                                max_nodes: int = PlanningSettings.max_nodes) -> list[Problem]:
    """What keeps a user-defined process from being stored (PUT /process_graphs/{id}): only a
    malformed document. Not JSON, not an object, too many nodes, an invalid or predefined id, no
    `process_graph` object, malformed `parameters` or nodes (not an object, no `process_id`,
    `arguments` not an object) are refused. A well-formed process that is incomplete or not
    runnable yet (an undeclared parameter, an argument not set, an unknown process or
    collection, a dangling reference, no result node) is stored, as editors save drafts; its
    problems are reported by POST /validation and when it is run (`validate`)."""
    del fetch, offload  # the graph's meaning is not checked here
    try:
        doc = json.loads(process_json)
    except ValueError:
        return [Problem("ProcessGraphInvalid", "Invalid process specified: the JSON cannot be parsed.")]
    if not isinstance(doc, dict):
        return [Problem("ProcessGraphInvalid", "Invalid process specified: expected a JSON object.")]
    try:
        check_size(doc, max_nodes)
    except ProblemError as exc:
        return [exc.problem]
    problems = []
    udp_id = doc.get("id")
    if udp_id is not None:
        if not isinstance(udp_id, str) or not UDP_ID.match(udp_id):
            problems.append(Problem("ProcessGraphInvalid",
                                    f"Invalid process specified: the id '{udp_id}' must match the pattern ^\\w+$.", "", "id"))
        elif process_specs.is_predefined(udp_id):
            problems.append(Problem("PredefinedProcessExists",
                                    f"A predefined process with the given identifier '{udp_id}' exists.", "", "id"))
    if not isinstance(doc.get("process_graph"), dict):
        problems.append(Problem("ProcessGraphMissing", "Invalid process specified. It doesn't contain a process graph."))
        return problems
    return problems + parameter_problems(doc.get("parameters")) + node_shape_problems(doc["process_graph"])
