"""Full validation of an openEO process (graph structure, processes, arguments, callbacks, UDPs,
collections). Pure: user-defined processes are passed in (fetched beforehand by the service)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from compiler_svc.collections.catalogue import catalogue
from compiler_svc.graph import callbacks_in, check_structure, contains_ref, is_callback, is_ref, iter_refs, node_path, resolve_process
from compiler_svc.problems import Problem, invalid
from compiler_svc.validation import schemas

#: GeoJSON arguments that take points and lines too (the others take polygons only)
ANY_GEOMETRY = {("aggregate_spatial", "geometries"), ("filter_spatial", "geometries")}

TILE_PARAMETERS = ("spatial_extent_west", "spatial_extent_south", "spatial_extent_east", "spatial_extent_north",
                   "spatial_extent_crs", "tile_size")
UDP_ID = re.compile(r"^\w+$")


@dataclass
class ValidationContext:
    """What validation needs besides the process: UDP definitions by id, purpose, parameter values."""

    udps: dict[str, dict] = field(default_factory=dict)
    tile: bool = False
    parameter_values: dict = field(default_factory=dict)
    # True when executing (Compile): process parameters need a value or default.
    executing: bool = False


def parameter_problems(parameters: Any, where: str = "") -> list[Problem]:
    """Well-formedness of a process' `parameters` list."""
    problems = []
    if parameters is None:
        return problems
    if not isinstance(parameters, list):
        return [Problem("ProcessGraphInvalid", f"Invalid process specified{where}: 'parameters' must be an array.")]
    seen = set()
    for i, p in enumerate(parameters):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not UDP_ID.match(p.get("name", "")):
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process specified{where}: parameter #{i} needs a 'name' matching ^\\w+$."))
            continue
        if p["name"] in seen:
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process specified{where}: parameter '{p['name']}' is defined twice."))
        seen.add(p["name"])
        if "schema" in p and not isinstance(p["schema"], (dict, list)):
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process specified{where}: the schema of parameter '{p['name']}' must be an object or array."))
    return problems


#: Callbacks inside callbacks deeper than this are refused (real graphs nest a few levels; the
#: executor evaluates each level by recursion).
MAX_CALLBACK_DEPTH = 32


class _Validator:
    def __init__(self, ctx: ValidationContext):
        self.ctx = ctx
        self.problems: list[Problem] = []
        self.depth = 0

    def add(self, problem: Problem):
        self.problems.append(problem)

    # -- graphs -------------------------------------------------------------------------------
    def graph(self, graph: dict, scope: dict[str, Any], prefix: str) -> str | None:
        """Validates a (sub)graph; `scope` maps visible parameter names to their schema (or None)."""
        if self.depth > MAX_CALLBACK_DEPTH:
            if not any(p.code == "ProcessGraphComplexity" for p in self.problems):
                self.add(Problem("ProcessGraphComplexity", f"Callbacks are nested more than {MAX_CALLBACK_DEPTH} levels "
                                 f"deep (at '{prefix}').", prefix))
            return None
        self.depth += 1
        try:
            return self._graph(graph, scope, prefix)
        finally:
            self.depth -= 1

    def _graph(self, graph: dict, scope: dict[str, Any], prefix: str) -> str | None:
        structure, result, order = check_structure(graph, prefix)
        self.problems.extend(structure)
        if not order:
            return result
        returns: dict[str, Any] = {}
        for nid in order:
            node = graph[nid]
            if isinstance(node, dict) and isinstance(node.get("process_id"), str):
                returns[nid] = self.node(nid, node, graph, scope, prefix, returns)
        return result

    def node(self, nid: str, node: dict, graph: dict, scope: dict, prefix: str, returns: dict) -> Any:
        path = node_path(prefix, nid)
        pid = node["process_id"]
        ns = node.get("namespace")
        args = node.get("arguments") if isinstance(node.get("arguments"), dict) else {}
        kind, definition = resolve_process(pid, ns, self.ctx.udps)
        if kind == "unsupported":
            self.add(Problem("ProcessUnsupported",
                             f"Process with identifier '{pid}' is not available in namespace '{ns or 'backend'}' (node '{path}').",
                             path))
            for value in args.values():
                for ref in iter_refs(value):
                    self.ref(ref, pid, path, "", scope)
            return {"description": "unknown"}
        params = definition.get("parameters") or []
        by_name = {p["name"]: p for p in params if isinstance(p, dict) and "name" in p}
        for name in args:
            if name not in by_name:
                self.add(Problem("ProcessParameterUnsupported",
                                 f"Process '{pid}' does not support parameter '{name}' (node '{path}').", path, name))
        for p in by_name.values():
            if p["name"] not in args and not p.get("optional") and "default" not in p:
                self.add(Problem("ProcessParameterRequired",
                                 f"Process '{pid}' parameter '{p['name']}' is required (node '{path}').", path, p["name"]))
        for name, value in args.items():
            if name in by_name:
                self.argument(pid, path, name, value, by_name[name].get("schema", {}), graph, scope, returns)
        if kind == "predefined":
            self.special(pid, path, args)
        return (definition.get("returns") or {}).get("schema", {})

    # -- arguments ----------------------------------------------------------------------------
    def argument(self, pid, path, name, value, schema, graph, scope, returns):
        if is_ref(value):
            if "from_node" in value:
                target = value["from_node"]
                if isinstance(target, str) and target in returns:  # other targets: a structure problem
                    produced = schemas.kinds(returns[target])
                    accepted = schemas.kinds(schema)
                    if not schemas.compatible(produced, accepted):
                        self.add(invalid(pid, path, name,
                                         f"node '{target}' returns {_describe(produced)}, but {_describe(accepted)} is expected"))
            else:
                self.ref(value, pid, path, name, scope)
            return
        if is_callback(value):
            cb_schemas = [s for s in schemas.as_list(schema) if s.get("subtype") == "process-graph"]
            if not cb_schemas:
                self.add(invalid(pid, path, name, "a child process graph (callback) is not allowed here"))
                return
            inner_scope = dict(scope)
            for p in cb_schemas[0].get("parameters") or []:
                inner_scope[p["name"]] = p.get("schema")
            self.graph(value["process_graph"], inner_scope, path)
            return
        if contains_ref(value):
            for ref in iter_refs(value):
                if "from_parameter" in ref:
                    self.ref(ref, pid, path, name, scope)
            nested_scope = dict(scope)
            for pname, pschema in _nested_callback_parameters(schema):
                nested_scope[pname] = pschema
            for cb in callbacks_in(value):
                self.graph(cb["process_graph"], nested_scope, path)
            return
        reason = schemas.schema_error(value, schema)
        if reason:
            self.add(invalid(pid, path, name, reason))
            return
        self.subtype_checks(pid, path, name, value, schema)

    def ref(self, ref: dict, pid: str, path: str, name: str, scope: dict):
        pname = ref.get("from_parameter")
        if not isinstance(pname, str) or pname in scope:  # a non-string name is a structure problem
            return
        if self.ctx.tile and pname in TILE_PARAMETERS:
            return
        if pname in self.ctx.parameter_values:
            return
        self.add(invalid(pid, path, name, f"it refers to the parameter '{pname}', which is not defined"))

    def subtype_checks(self, pid, path, name, value, schema):
        subs = schemas.subtypes(schema)
        reason = None
        if "bounding-box" in subs and isinstance(value, dict) and "west" in value:
            reason = schemas.bbox_error(value)
        elif "geojson" in subs and isinstance(value, dict):
            reason = schemas.geojson_error(value, polygons_only=(pid, name) not in ANY_GEOMETRY)
        if reason is None and ("temporal-interval" in subs) and isinstance(value, list):
            reason = schemas.temporal_interval_error(value)
        if reason is None and "temporal-intervals" in subs and isinstance(value, list):
            for item in value:
                reason = schemas.temporal_interval_error(item)
                if reason:
                    break
        if reason is None and "epsg-code" in subs and isinstance(value, int):
            reason = schemas.crs_error(value)
        if reason is None and subs & {"wkt2-definition", "proj-definition"} and isinstance(value, str):
            reason = schemas.crs_error(value)
        if reason:
            self.add(invalid(pid, path, name, reason))

    # -- process-specific checks ----------------------------------------------------------------
    def special(self, pid: str, path: str, args: dict):
        if pid == "load_collection":
            self.load_collection(path, args)
        elif pid == "load_result":
            self.load_result(path, args)
        elif pid == "load_stac":
            self.load_stac(path, args)
        elif pid == "save_result":
            fmt = args.get("format")
            if isinstance(fmt, str):
                from compiler_svc.output_formats import canonical_format, option_problem

                canonical = canonical_format(fmt)
                if canonical is None:
                    self.add(Problem("FormatUnsupported", f"Output format '{fmt}' is not supported (node '{path}').", path, "format"))
                elif isinstance(args.get("options"), dict) and not contains_ref(args["options"]):
                    problem = option_problem(canonical, args["options"], path)
                    if problem is not None:
                        self.add(problem)

    def load_result(self, path: str, args: dict):
        """The job itself (owner, status, assets) is checked by the executor when it runs; the
        extents are checked by the schema / subtype checks."""
        bands = args.get("bands")
        if isinstance(bands, list) and not contains_ref(bands) and not bands:
            self.add(invalid("load_result", path, "bands", "at least one band must be selected"))

    def load_stac(self, path: str, args: dict):
        """Only this back-end's batch job results can be loaded (the planner turns the node into
        load_result; the executor checks that the URL is ours and the job the user's)."""
        self.load_result(path, args)
        if args.get("properties"):
            self.add(invalid("load_stac", path, "properties", "metadata filters are not supported for batch job results"))

    def load_collection(self, path: str, args: dict):
        cid = args.get("id")
        if not isinstance(cid, str):
            return
        coll = catalogue().get(cid)
        if coll is None:
            self.add(Problem("CollectionNotFound", f"Collection '{cid}' does not exist (node '{path}', argument 'id').", path, "id", 404))
            return
        bands = args.get("bands")
        if isinstance(bands, list) and not contains_ref(bands):
            if not bands:
                self.add(invalid("load_collection", path, "bands", "at least one band must be selected"))
            for band in bands:
                if isinstance(band, str) and not coll.resolve_band(band):
                    self.add(invalid("load_collection", path, "bands",
                                     f"band '{band}' does not exist in collection '{cid}' (available: {', '.join(coll.band_names)})"))
        extent = args.get("spatial_extent")
        if isinstance(extent, dict) and not contains_ref(extent) and not self.ctx.tile:
            from compiler_svc.geo import extent_bounds_4326  # local: keeps pyproj out of cold paths

            try:
                w, s, e, n = extent_bounds_4326(extent)
            except ValueError:
                w = None  # already reported by the schema / subtype checks
            if w is not None:
                cw, cs, ce, cn = coll.bbox
                if w > ce or e < cw or s > cn or n < cs:
                    self.add(invalid("load_collection", path, "spatial_extent",
                                     f"the extent does not intersect the extent of collection '{cid}' ({cw}, {cs}, {ce}, {cn})"))
        temporal = args.get("temporal_extent")
        if isinstance(temporal, list) and len(temporal) == 2 and coll.temporal and not contains_ref(temporal):
            start, end = (schemas.parse_instant(v) if isinstance(v, str) else None for v in temporal)
            c_start, c_end = coll.time_extent
            if end is not None and c_start is not None and end <= c_start.replace(tzinfo=None):
                self.add(invalid("load_collection", path, "temporal_extent",
                                 f"the interval ends before the data of collection '{cid}' starts ({c_start.date().isoformat()})"))
            # an ongoing collection's data ends now: an interval that starts later (e.g. in year
            # 9999) has no data, and is refused here before any Sentinel Hub request
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            data_end = c_end.replace(tzinfo=None) if c_end is not None else now
            if start is not None and start > data_end:
                ends = (f"ends ({c_end.date().isoformat()})" if c_end is not None
                        else f"ends: the data is ongoing, up to now ({now.date().isoformat()})")
                self.add(invalid("load_collection", path, "temporal_extent",
                                 f"the interval starts after the data of collection '{cid}' {ends}"))
        props = args.get("properties")
        if isinstance(props, dict):
            from compiler_svc.collections.load_options import sentinel_hub_options

            supported = coll.queryables
            for key, condition in props.items():
                if key not in supported:
                    self.add(invalid("load_collection", path, "properties",
                                     f"filtering on property '{key}' is not supported for collection '{cid}'"
                                     + (f" (supported: {', '.join(supported)})" if supported else "")))
                elif not contains_ref(condition):
                    try:
                        sentinel_hub_options({key: condition}, coll.sh_type)
                    except ValueError as exc:
                        self.add(invalid("load_collection", path, "properties", str(exc)))


def _nested_callback_parameters(schema: Any):
    """(name, schema) of the parameters of any process-graph schema nested in `schema`."""
    if isinstance(schema, list):
        for s in schema:
            yield from _nested_callback_parameters(s)
    elif isinstance(schema, dict):
        if schema.get("subtype") == "process-graph":
            for p in schema.get("parameters") or []:
                yield p["name"], p.get("schema")
        for key in ("additionalProperties", "items", "anyOf", "oneOf", "allOf", "properties"):
            sub = schema.get(key)
            if key == "properties" and isinstance(sub, dict):
                sub = list(sub.values())
            if isinstance(sub, (dict, list)):
                yield from _nested_callback_parameters(sub)


def _describe(ks: set[str]) -> str:
    names = sorted(k if k != "other" else "a non-cube value" for k in ks)
    return " or ".join(names)


def validate_process(process: dict, ctx: ValidationContext) -> list[Problem]:
    """All problems of an openEO process object (its graph, its parameters, the UDPs it uses)."""
    v = _Validator(ctx)
    v.problems.extend(parameter_problems(process.get("parameters")))
    scope: dict[str, Any] = {}
    for p in process.get("parameters") or []:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            scope[p["name"]] = p.get("schema")
            if ctx.executing and p["name"] not in ctx.parameter_values and "default" not in p and not p.get("optional"):
                v.add(Problem("ProcessParameterRequired",
                              f"Process parameter '{p['name']}' is required: no value was given and it has no default.",
                              "", p["name"]))
    v.graph(process["process_graph"], scope, "")
    for udp_id, udp in ctx.udps.items():
        graph = udp.get("process_graph")
        if not isinstance(graph, dict):
            v.add(Problem("ProcessGraphInvalid", f"User-defined process '{udp_id}' has no process graph.", udp_id))
            continue
        v.problems.extend(parameter_problems(udp.get("parameters"), f" (user-defined process '{udp_id}')"))
        udp_scope = {p["name"]: p.get("schema") for p in udp.get("parameters") or [] if isinstance(p, dict) and "name" in p}
        v.graph(graph, udp_scope, udp_id)
    return _dedupe(v.problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.code, p.node_id, p.parameter, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
