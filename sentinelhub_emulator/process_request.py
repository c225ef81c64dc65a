"""Parsing and validation of Process API request bodies into a ProcessPlan."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import filters, world
from .crs import UnsupportedCRS, parse_crs
from .errors import bad_request

MAX_PX = 2500
ORDERS = ("mostRecent", "leastRecent", "leastCC")
RESAMPLING = ("NEAREST", "BILINEAR", "BICUBIC")
FORMATS = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg", "application/json": "json",
           "application/octet-stream": "bin"}
TAR_TYPES = ("application/tar", "application/x-tar", "multipart/mixed")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


@dataclass
class DataInput:
    collection: str
    id: str | None
    time_from: datetime
    time_to: datetime
    mosaicking_order: str = "mostRecent"
    max_cloud_coverage: float = 100.0
    processing: dict = field(default_factory=dict)
    orbit_direction: str | None = None  # ASCENDING / DESCENDING (Sentinel-1)
    #: checked type-specific dataFilter/processing entries that change the rendering (`filters.check`)
    options: dict = field(default_factory=dict)
    #: served by another deployment of the realm, fused here (counts twice in f_fusion, §2.6)
    remote: bool = False


@dataclass
class ResponseSpec:
    identifier: str
    format: str
    quality: int = 90


@dataclass
class ProcessPlan:
    bbox: tuple[float, float, float, float]
    epsg: int
    geometry: dict | None
    width: int
    height: int
    data: list[DataInput]
    responses: list[ResponseSpec]
    evalscript: str
    container: str | None  # "tar" when several responses

def parse_datetime(value, what: str) -> datetime:
    if not isinstance(value, str) or not _DATETIME.match(value.strip()):
        raise bad_request(f"Invalid {what} '{value}': expected an RFC 3339 date-time like 2020-01-01T00:00:00Z")
    text = value.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        raise bad_request(f"Invalid {what} '{value}'") from None


def _size(name: str, value, derived_from: str | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (derived_from is None and value != int(value)):
        raise bad_request(f"`{name}` must be an integer.")
    v = int(value)
    suffix = f", calculated from {derived_from}," if derived_from else ""
    if v > MAX_PX:
        raise bad_request(f"`{name} = {v}`{suffix} is larger than allowed {MAX_PX}.")
    if v < 1:
        raise bad_request(f"`{name} = {v}`{suffix} is smaller than allowed 1.")
    return v


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _bounds(bounds) -> tuple[tuple[float, float, float, float], int, dict | None]:
    if not isinstance(bounds, dict):
        raise bad_request("input.bounds is required.")
    props = bounds.get("properties") or {}
    try:
        epsg = parse_crs(props.get("crs"))
    except UnsupportedCRS as exc:
        raise bad_request(str(exc)) from None
    geometry = bounds.get("geometry")
    bbox = bounds.get("bbox")
    if bbox is None and geometry is None:
        raise bad_request("input.bounds must contain a bbox or a geometry.")
    if geometry is not None:
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise bad_request("input.bounds.geometry must be a GeoJSON Polygon or MultiPolygon.")
        from shapely.geometry import shape

        try:
            geom = shape(geometry)
        except Exception as exc:  # noqa: BLE001
            raise bad_request(f"Invalid geometry: {exc}") from None
        if geom.is_empty:
            raise bad_request("input.bounds.geometry is empty.")
        if bbox is None:
            bbox = list(geom.bounds)
    if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
        raise bad_request("input.bounds.bbox must be an array of 4 numbers.")
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if not (minx < maxx and miny < maxy):
        raise bad_request("input.bounds.bbox is empty or inverted (need minX < maxX and minY < maxY).")
    return (minx, miny, maxx, maxy), epsg, geometry


def _data(items) -> list[DataInput]:
    if not isinstance(items, list) or not items:
        raise bad_request("input.data must contain at least one item.")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "type" not in item:
            raise bad_request(f"input.data[{i}].type is required.")
        try:
            spec = world.collection_spec(str(item["type"]))
        except KeyError:
            raise bad_request(f"Unknown collection type '{item['type']}' in input.data[{i}].") from None
        df = item.get("dataFilter") or {}
        tr = df.get("timeRange")
        if tr is None:
            t_from = spec.epoch or datetime(1970, 1, 1, tzinfo=timezone.utc)
            t_to = datetime.now(timezone.utc)
        else:
            t_from = parse_datetime(tr.get("from"), "timeRange.from")
            t_to = parse_datetime(tr.get("to"), "timeRange.to")
            if t_to < t_from:
                raise bad_request("timeRange.to must not be before timeRange.from.")
        order = df.get("mosaickingOrder", "mostRecent")
        byoc_orders = filters.BYOC_ORDERS if spec.id.startswith("byoc-") else ORDERS
        if order not in byoc_orders or (order == "leastCC" and not spec.has_cloud_cover):
            raise bad_request(f"Unsupported mosaickingOrder '{order}' for {spec.id}.")
        mcc = df.get("maxCloudCoverage", 100)
        if not isinstance(mcc, (int, float)) or not 0 <= mcc <= 100:
            raise bad_request("maxCloudCoverage must be between 0 and 100.")
        orbit = df.get("orbitDirection")
        if orbit is not None and (spec.descending_epoch is None or orbit not in ("ASCENDING", "DESCENDING")):
            raise bad_request(f"Unsupported orbitDirection {orbit!r} for {spec.id}."
                              + (" Use ASCENDING or DESCENDING." if spec.descending_epoch is not None else ""))
        if "maxCloudCoverage" in df and not spec.has_cloud_cover:
            raise bad_request(f"maxCloudCoverage is not supported for {spec.id}.")
        proc = item.get("processing") or {}
        for key in ("upsampling", "downsampling"):
            if key in proc and proc[key] not in RESAMPLING:
                raise bad_request(f"Unsupported {key} '{proc[key]}'.")
        options = filters.check(spec.id, df, proc, i)
        out.append(DataInput(spec.id, item.get("id"), t_from, t_to, order, float(mcc), dict(proc), orbit, options))
    ids = [d.id for d in out if d.id is not None]
    if len(ids) != len(set(ids)):
        raise bad_request("input.data ids must be unique.")
    return out


def _output(output, bbox) -> tuple[int, int]:
    output = output or {}
    has_wh = "width" in output or "height" in output
    has_res = "resx" in output or "resy" in output
    if has_wh and has_res:
        raise bad_request("Specify either output.width/height or output.resx/resy, not both.")
    if has_res:
        rx, ry = output.get("resx"), output.get("resy")
        if not isinstance(rx, (int, float)) or not isinstance(ry, (int, float)) or rx <= 0 or ry <= 0:
            raise bad_request("output.resx and output.resy must be positive numbers.")
        w = _round_half_up((bbox[2] - bbox[0]) / rx)
        h = _round_half_up((bbox[3] - bbox[1]) / ry)
        return _size("width", w, "resx"), _size("height", h, "resy")
    w = output.get("width", 256 if "height" not in output else None)
    h = output.get("height", 256 if "width" not in output else None)
    if w is None or h is None:  # only one given: keep the bbox aspect ratio
        ratio = (bbox[3] - bbox[1]) / (bbox[2] - bbox[0])
        if w is None:
            w = max(1, _round_half_up(_size("height", h) / ratio))
        else:
            h = max(1, _round_half_up(_size("width", w) * ratio))
    return _size("width", w), _size("height", h)


def _responses(output, accept: str | None) -> tuple[list[ResponseSpec], str | None]:
    raw = (output or {}).get("responses") or [{"identifier": "default", "format": {"type": "image/png"}}]
    resps = []
    for r in raw:
        ident = r.get("identifier", "default")
        fmt = (r.get("format") or {}).get("type", "image/png")
        if fmt not in FORMATS:
            raise bad_request(f"Unsupported output format '{fmt}'.")
        if ident == "userdata" and fmt != "application/json":
            raise bad_request("The userdata response must have format application/json.")
        if ident != "userdata" and fmt == "application/json":
            raise bad_request(f"Response '{ident}' cannot be application/json (only userdata can).")
        q = (r.get("format") or {}).get("quality", 90)
        resps.append(ResponseSpec(ident, fmt, int(q)))
    idents = [r.identifier for r in resps]
    if len(idents) != len(set(idents)):
        raise bad_request("output.responses identifiers must be unique.")
    accepts = [a.split(";")[0].strip().lower() for a in (accept or "").split(",") if a.strip()]
    accepts = [a for a in accepts if a not in ("*/*", "")]
    if len(resps) > 1:
        if accepts and not any(a in TAR_TYPES for a in accepts):
            raise bad_request("Several responses require Accept: application/tar, application/x-tar or multipart/mixed.")
        container = "multipart" if accepts and accepts[0] == "multipart/mixed" else "tar"
        return resps, container
    if accepts:
        a = accepts[0]
        if a in TAR_TYPES:
            return resps, "tar"
        if a in FORMATS and resps[0].identifier != "userdata":
            if a == "application/json":
                raise bad_request("application/json is only available for userdata.")
            resps[0].format = a
        elif a not in FORMATS:
            raise bad_request(f"Unsupported Accept '{a}'.", "COMMON_UNSUPPORTED_MEDIA_TYPE")
    return resps, None


def parse_process_request(body: dict, accept: str | None = None) -> ProcessPlan:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    script = body.get("evalscript")
    if not isinstance(script, str) or not script.strip():
        raise bad_request("evalscript is required.")
    if not script.lstrip().startswith("//VERSION=3"):
        raise bad_request("Only evalscript version 3 is supported: the script must start with //VERSION=3.")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise bad_request("input is required.")
    bbox, epsg, geometry = _bounds(inp.get("bounds"))
    data = _data(inp.get("data"))
    width, height = _output(body.get("output"), bbox)
    responses, container = _responses(body.get("output"), accept)
    return ProcessPlan(bbox, epsg, geometry, width, height, data, responses, script, container)
