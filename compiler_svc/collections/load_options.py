"""The per-collection load options: the metadata properties `load_collection`'s `properties`
can filter on (GET /collections/{id}/queryables), their checks and the Sentinel Hub request
options they become (../shared/docs/sentinel-hub-api.md §6: `dataFilter` / `processing`).

A condition is a one-node process graph comparing the parameter `value` with a constant, as the
openEO API describes `properties` (e.g. `{"process_graph": {"c": {"process_id": "eq", "arguments":
{"x": {"from_parameter": "value"}, "y": "IW"}}}}`). Pure functions: validation and planning both
call them; a bad condition raises ValueError with the message for the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

VALUE = {"from_parameter": "value"}

_S1 = frozenset({"sentinel-1-grd"})
_LANDSAT = frozenset({"landsat-mss-l1", "landsat-tm-l1", "landsat-tm-l2", "landsat-etm-l1", "landsat-etm-l2",
                      "landsat-ot-l1", "landsat-ot-l2"})
# Landsat types whose `tiers` filter also offers TIER_1_AND_RT (real-time scenes): §6.6
_LANDSAT_RT = frozenset({"landsat-etm-l1", "landsat-ot-l1"})


@dataclass(frozen=True)
class Condition:
    """A parsed condition: the comparison and its constant (for `between`, [min, max]; for
    `array_contains`, the list of accepted values)."""

    op: str
    operand: object


def parse_condition(callback) -> Condition:
    """The single comparison of a `properties` callback (ValueError when it is anything else)."""
    graph = callback.get("process_graph") if isinstance(callback, dict) else None
    if not isinstance(graph, dict) or len(graph) != 1:
        raise ValueError("the condition must be a process graph with a single comparison node")
    (node,) = graph.values()
    pid = node.get("process_id") if isinstance(node, dict) else None
    args = (node.get("arguments") or {}) if isinstance(node, dict) else {}
    if pid in ("eq", "lte", "lt", "gte", "gt"):
        x, y = args.get("x"), args.get("y")
        if x == VALUE and y != VALUE and not isinstance(y, dict):
            return Condition(pid, y)
        if y == VALUE and x != VALUE and not isinstance(x, dict):
            mirrored = {"lte": "gte", "lt": "gt", "gte": "lte", "gt": "lt"}.get(pid, pid)
            return Condition(mirrored, x)  # `5 <= value` is `value >= 5`
    elif pid == "between" and args.get("x") == VALUE:
        lo, hi = args.get("min"), args.get("max")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
            return Condition("between", [lo, hi])
    elif pid == "array_contains" and args.get("value") == VALUE and isinstance(args.get("data"), list):
        return Condition("array_contains", list(args["data"]))
    raise ValueError("the condition must compare the parameter 'value' with a constant "
                     "(eq, lt, lte, gt, gte, between or array_contains)")


def _number(value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ValueError(f"the value must be a number from {lo:g} to {hi:g}")
    return float(value)


def _upper_bound(c: Condition, lo: float, hi: float) -> float:
    if c.op in ("lte", "lt"):
        return _number(c.operand, lo, hi)
    if c.op == "between":
        return _number(c.operand[1], lo, hi)
    raise ValueError("only an upper bound is supported (lte, lt or between)")


def _lower_bound(c: Condition, lo: float, hi: float) -> float:
    if c.op == "gte":
        return _number(c.operand, lo, hi)
    if c.op == "gt":
        return min(hi, _number(c.operand, lo, hi) + 1)  # integer percentages: > 50 is >= 51
    raise ValueError("only a lower bound is supported (gte or gt)")


def _one_of(c: Condition, mapping: dict[str, str]) -> str:
    """The Sentinel Hub value of an `eq` condition on an enumerated property."""
    if c.op != "eq":
        raise ValueError("only eq is supported")
    allowed = {k.lower(): v for k, v in mapping.items()}
    if not isinstance(c.operand, str) or c.operand.lower() not in allowed:
        raise ValueError(f"the value must be one of {', '.join(mapping)}")
    return allowed[c.operand.lower()]


def _tiers(c: Condition, sh_type: str) -> str:
    if c.op == "eq":
        chosen = {c.operand}
    elif c.op == "array_contains":
        chosen = set(c.operand)
    else:
        raise ValueError("only eq or array_contains is supported")
    options = {frozenset({"T1"}): "TIER_1", frozenset({"T1", "T2"}): "ALL_TIERS",
               frozenset({"T1", "T2", "RT"}): "ALL_TIERS"}
    if sh_type in _LANDSAT_RT:
        options[frozenset({"T1", "RT"})] = "TIER_1_AND_RT"
    tiers = options.get(frozenset(v for v in chosen if isinstance(v, str)))
    if tiers is None or not all(isinstance(v, str) for v in chosen):
        choices = ["'T1'", "['T1', 'T2']"] + (["['T1', 'RT']"] if sh_type in _LANDSAT_RT else [])
        raise ValueError(f"Sentinel Hub can select the tiers {', '.join(choices)} of this collection only")
    return tiers


@dataclass(frozen=True)
class Queryable:
    schema: dict
    #: the Sentinel Hub request part ("dataFilter" or "processing") and key it sets
    target: str
    key: str
    convert: Callable[[Condition, str], object]
    #: the Process API types that have it; None: the collections with cloud cover
    sh_types: frozenset | None = None
    extra: dict = field(default_factory=dict)

    def applies(self, sh_type: str, has_cloud_cover: bool) -> bool:
        return has_cloud_cover if self.sh_types is None else sh_type in self.sh_types


def _enum(title: str, description: str, mapping: dict[str, str]) -> dict:
    return {"title": title, "description": description, "type": "string", "enum": list(mapping)}


_ORBIT = {"ascending": "ASCENDING", "descending": "DESCENDING"}
_S1_MODES = {m: m for m in ("SM", "IW", "EW", "WV")}
_S1_POLARIZATIONS = {p: p for p in ("SH", "SV", "DH", "DV", "HH", "HV", "VV", "VH")}
_S1_RESOLUTIONS = {"HIGH": "HIGH", "MEDIUM": "MEDIUM"}
_S1_TIMELINESS = {t: t for t in ("NRT10m", "NRT1h", "NRT3h", "Fast24h", "Offline", "Reprocessing", "ArchNormal")}
_S5P_TIMELINESS = {t: t for t in ("NRTI", "OFFL", "RPRO")}
_HLS_CONSTELLATIONS = {"sentinel-2": "SENTINEL", "landsat": "LANDSAT"}

QUERYABLES: dict[str, Queryable] = {
    "eo:cloud_cover": Queryable(
        {"title": "Cloud cover", "description": "Cloud cover of the scene or tile in percent; an upper bound "
         "with `lte`, `lt` or `between` (Sentinel Hub's dataFilter.maxCloudCoverage).",
         "type": "number", "minimum": 0, "maximum": 100},
        "dataFilter", "maxCloudCoverage", lambda c, t: _upper_bound(c, 0, 100)),
    "sat:orbit_state": Queryable(
        _enum("Orbit direction", "Direction of the satellite's pass; `eq` (Sentinel Hub's dataFilter.orbitDirection).",
              _ORBIT),
        "dataFilter", "orbitDirection", lambda c, t: _one_of(c, _ORBIT), _S1 | {"sentinel-3-slstr"}),
    "sar:instrument_mode": Queryable(
        _enum("Acquisition mode", "Sentinel-1 acquisition mode; `eq` (dataFilter.acquisitionMode).", _S1_MODES),
        "dataFilter", "acquisitionMode", lambda c, t: _one_of(c, _S1_MODES), _S1),
    "s1:polarization": Queryable(
        _enum("Polarization", "Polarization of the product: SH (HH), SV (VV), DH (HH+HV), DV (VV+VH) or a "
              "partial dual product; `eq` (dataFilter.polarization).", _S1_POLARIZATIONS),
        "dataFilter", "polarization", lambda c, t: _one_of(c, _S1_POLARIZATIONS), _S1),
    "s1:resolution": Queryable(
        _enum("Resolution", "HIGH (10 m IW/SM, 25 m EW) or MEDIUM (40 m); `eq` (dataFilter.resolution).",
              _S1_RESOLUTIONS),
        "dataFilter", "resolution", lambda c, t: _one_of(c, _S1_RESOLUTIONS), _S1),
    "s1:timeliness": Queryable(
        _enum("Timeliness", "Timeliness category of the product; `eq` (dataFilter.timeliness).", _S1_TIMELINESS),
        "dataFilter", "timeliness", lambda c, t: _one_of(c, _S1_TIMELINESS), _S1),
    "s5p:timeliness": Queryable(
        _enum("Timeliness", "NRTI (near real time), OFFL (offline) or RPRO (reprocessed); `eq` "
              "(dataFilter.timeliness; by default the most processed one available).", _S5P_TIMELINESS),
        "dataFilter", "timeliness", lambda c, t: _one_of(c, _S5P_TIMELINESS), frozenset({"sentinel-5p-l2"})),
    "qa_value": Queryable(
        {"title": "Minimum quality", "description": "Pixels whose qa_value (0-100) is below the bound are no-data; "
         "a lower bound with `gte` or `gt` (Sentinel Hub's processing.minQa; default 50, 75 for NO2).",
         "type": "integer", "minimum": 0, "maximum": 100},
        "processing", "minQa", lambda c, t: int(_lower_bound(c, 0, 100)), frozenset({"sentinel-5p-l2"})),
    "landsat:collection_category": Queryable(
        {"title": "Collection category (tier)", "description": "Landsat Collection 2 tier: `eq` 'T1', or "
         "`array_contains` with ['T1', 'T2'] (all tiers) or ['T1', 'RT'] (ETM+ / OLI L1 only) "
         "(dataFilter.tiers; by default all tiers).", "type": "string", "enum": ["T1", "T2", "RT"]},
        "dataFilter", "tiers", _tiers, _LANDSAT),
    "constellation": Queryable(
        _enum("Constellation", "Which sensor's HLS products: `eq` 'sentinel-2' or 'landsat' "
              "(dataFilter.constellation; by default both).", _HLS_CONSTELLATIONS),
        "dataFilter", "constellation", lambda c, t: _one_of(c, _HLS_CONSTELLATIONS), frozenset({"hls"})),
}


def sentinel_hub_options(properties: dict | None, sh_type: str) -> tuple[dict, dict]:
    """The (dataFilter, processing) entries of `properties` (ValueError naming the property when
    one is not a queryable of the collection or its condition is not supported)."""
    data_filter: dict = {}
    processing: dict = {}
    for name, callback in (properties or {}).items():
        queryable = QUERYABLES.get(name)
        if queryable is None:
            raise ValueError(f"filtering on property '{name}' is not supported")
        try:
            value = queryable.convert(parse_condition(callback), sh_type)
        except ValueError as exc:
            raise ValueError(f"property '{name}': {exc}") from None
        (data_filter if queryable.target == "dataFilter" else processing)[queryable.key] = value
    return data_filter, processing
