"""Validation of a Batch v2 create body (reference §5.2) into a ``TaskRequest``. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import bad_request
from ..process_request import DataInput, _bounds, _data
from .grids import GRIDS, Grid, resolution_allowed

FORMAT_EXTENSIONS = {"image/tiff": "tif", "application/json": "json"}
_PLACEHOLDER = re.compile(r"<(requestId|tileName|tileId|outputId|format)>")
_S3_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/.*)?$")


@dataclass(frozen=True)
class Delivery:
    bucket: str
    template: str  # key template inside the bucket, with placeholders
    access_key: str
    secret_key: str
    region: str | None

    def key(self, task_id: str, tile_name: str, tile_id: int, output_id: str, fmt: str) -> str:
        return (self.template.replace("<requestId>", task_id).replace("<tileName>", tile_name)
                .replace("<tileId>", str(tile_id)).replace("<outputId>", output_id).replace("<format>", fmt))

    def root(self) -> str:
        """The prefix before the first placeholder: where the task's own files (execution DB) go."""
        head = _PLACEHOLDER.split(self.template, maxsplit=1)[0]
        return head if head.endswith("/") or not head else head.rsplit("/", 1)[0] + "/"


@dataclass(frozen=True)
class TaskRequest:
    bbox: tuple[float, float, float, float]
    epsg: int
    geometry: dict | None
    data: list[DataInput]
    responses: list[tuple[str, str]]  # (identifier, media type)
    evalscript: str
    grid: Grid
    resolution: float
    buffer_x: int
    buffer_y: int
    delivery: Delivery
    overwrite: bool
    skip_existing: bool
    cog_output: bool


def _bool(obj: dict, key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise bad_request(f"output.{key} must be a boolean.")
    return value


def _buffer(value, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32767:
        raise bad_request(f"input.{name} must be an int16 of at least 0.")
    return value


def _grid_input(inp) -> tuple[Grid, float, int, int]:
    if not isinstance(inp, dict):
        raise bad_request("input is required.")
    kind = inp.get("type")
    if kind == "geopackage":
        raise bad_request("GeoPackage input is not supported by this emulator; use a tiling grid.")
    if kind != "tiling-grid":
        raise bad_request("input.type must be 'tiling-grid' or 'geopackage'.")
    gid = inp.get("id")
    if isinstance(gid, bool) or not isinstance(gid, int) or gid not in GRIDS:
        raise bad_request(f"Tiling grid {gid!r} does not exist.")
    grid = GRIDS[gid]
    res = inp.get("resolution")
    if isinstance(res, bool) or not isinstance(res, (int, float)) or not resolution_allowed(grid, float(res)):
        raise bad_request(f"Resolution {res!r} is not one of grid {gid}'s resolutions "
                          f"{list(grid.resolutions)}.")
    return grid, float(res), _buffer(inp.get("bufferX"), "bufferX"), _buffer(inp.get("bufferY"), "bufferY")


def _delivery(output, n_responses: int) -> Delivery:
    if not isinstance(output, dict):
        raise bad_request("output is required.")
    if output.get("type") == "zarr":
        raise bad_request("Zarr output is not supported by this emulator; use type 'raster'.")
    if output.get("type") != "raster":
        raise bad_request("output.type must be 'raster' or 'zarr'.")
    s3 = (output.get("delivery") or {}).get("s3") if isinstance(output.get("delivery"), dict) else None
    if not isinstance(s3, dict) or not isinstance(s3.get("url"), str):
        raise bad_request("output.delivery.s3.url is required.")
    m = _S3_URL.match(s3["url"])
    if not m:
        raise bad_request(f"Invalid S3 URL {s3['url']!r}: expected s3://bucket[/prefix].")
    access, secret = s3.get("accessKey"), s3.get("secretAccessKey")
    if "iamRoleARN" in s3:
        raise bad_request("iamRoleARN is not supported by this emulator: give accessKey and secretAccessKey.")
    if not (isinstance(access, str) and access and isinstance(secret, str) and secret):
        raise bad_request("output.delivery.s3 needs accessKey and secretAccessKey.")
    path = (m.group(2) or "").strip("/")
    if _PLACEHOLDER.search(path):
        if "<tileName>" not in path and "<tileId>" not in path:
            raise bad_request("The output path template must contain <tileName> or <tileId>.")
        if n_responses > 1 and "<outputId>" not in path:
            raise bad_request("The output path template must contain <outputId> when there are several responses.")
        template = path
    else:
        template = (path + "/" if path else "") + "<requestId>/<tileName>/<outputId>.<format>"
    region = s3.get("region")
    return Delivery(m.group(1), template, access, secret, region if isinstance(region, str) else None)


def _responses(output) -> list[tuple[str, str]]:
    raw = (output or {}).get("responses") if isinstance(output, dict) else None
    if not isinstance(raw, list) or not raw:
        raise bad_request("processRequest.output.responses must list at least one response.")
    out = []
    for r in raw:
        if not isinstance(r, dict):
            raise bad_request("Each response must be an object.")
        ident = r.get("identifier", "default")
        fmt = (r.get("format") or {}).get("type") if isinstance(r.get("format"), dict) else None
        if fmt not in FORMAT_EXTENSIONS:
            raise bad_request(f"Unsupported batch output format {fmt!r}: only image/tiff and application/json.")
        if (fmt == "application/json") != (ident == "userdata"):
            raise bad_request("application/json is only for the response 'userdata', which must use it.")
        out.append((str(ident), fmt))
    if len({i for i, _ in out}) != len(out):
        raise bad_request("output.responses identifiers must be unique.")
    return out


def parse_task_request(body) -> TaskRequest:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    pr = body.get("processRequest")
    if not isinstance(pr, dict):
        raise bad_request("processRequest is required.")
    script = pr.get("evalscript")
    if not isinstance(script, str) or not script.lstrip().startswith("//VERSION=3"):
        raise bad_request("processRequest.evalscript is required and must start with //VERSION=3.")
    pin = pr.get("input")
    if not isinstance(pin, dict) or not isinstance(pin.get("bounds"), dict):
        raise bad_request("processRequest.input.bounds is required for tiling-grid input.")
    pout = pr.get("output") if isinstance(pr.get("output"), dict) else {}
    for key in ("width", "height", "resx", "resy"):
        if key in pout:
            raise bad_request(f"processRequest.output.{key} is not allowed: the tile size comes from the grid.")
    bbox, epsg, geometry = _bounds(pin["bounds"])
    data = _data(pin.get("data"))
    responses = _responses(pout)
    grid, res, bx, by = _grid_input(body.get("input"))
    output = body.get("output")
    delivery = _delivery(output, len(responses))
    cog = _bool(output, "cogOutput")
    return TaskRequest(bbox, epsg, geometry, data, responses, script, grid, res, bx, by, delivery,
                       _bool(output, "overwrite"), _bool(output, "skipExisting"), cog)
