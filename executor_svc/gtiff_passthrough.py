"""The GTiff pass-through: a plan whose whole result is one Sentinel Hub load saved as GTiff (all
per-pixel work pushed into the evalscript, one date at most, one request) needs no data cube.
GDAL turns Sentinel Hub's FLOAT32 TIFF into the COG directly, with the metadata the normal path
gives it (grid, band names, NaN no-data, datetime tag), so the file is the one the normal path
(decode, cube, evaluation, `write_cog`) would write, at about two thirds of its CPU time.

Anything this does not cover falls back to the normal path with the response already fetched,
so Sentinel Hub is never asked twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from .encoding.formats import CANONICAL, MEDIA_TYPES
from .encoding.gtiff import cog_from_tiff
from .encoding.raster import date_label, transform_from_centres
from .graph.nodes import graph_nodes
from .loading.cube import _time_labels, parse_userdata, pixel_centres
from .sentinelhub.decode import is_tar, split_tar

#: Format options the pass-through honours (anything else takes the normal path).
PASSTHROUGH_OPTIONS = {"filename_prefix"}


@dataclass
class PassthroughFile:
    data: bytes
    filename: str
    media_type: str


def passthrough_load(plan, split_threshold: int):
    """(the plan's single load, format options) when the plan's result is that load's pixels
    saved as GTiff with no option but `filename_prefix`, fetched in one request; else None (pure).

    The format is the plan's `output` (the compiler always sets it; tiles_svc may override it),
    decided before the graph is parsed."""
    from .run import _graph_of, output_of

    if len(plan.loads) != 1 or not plan.HasField("output"):
        return None
    load = plan.loads[0]
    if split_threshold and max(load.width, load.height) > split_threshold:
        return None
    fmt, options = output_of(plan)
    if CANONICAL.get(fmt.strip().lower()) != "GTiff" or set(options) - PASSTHROUGH_OPTIONS:
        return None
    seeded = load.result_node_id or load.node_id
    result = plan.result_node_id or seeded
    if result == seeded:
        return load, options
    node = graph_nodes(_graph_of(plan)).get(result)
    if not isinstance(node, dict) or node.get("process_id") != "save_result" or node.get("namespace") not in (None, "backend"):
        return None
    args = node.get("arguments") or {}
    if set(args) - {"data", "format", "options"} or args.get("data") != {"from_node": seeded}:
        return None
    return load, options


def date_tag(text: str) -> str:
    """The label the normal path gives a userdata date (`date_label` of `_time_labels`), read
    without pandas for the ISO 8601 the evalscripts write (pure)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return date_label(_time_labels([text])[0])
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_passthrough(content: bytes, content_type: str, load, options: dict) -> PassthroughFile | None:
    """The COG of a pass-through response, or None when the response is not one image of at most
    one date in the plan's grid (CPU: run in the pool)."""
    if is_tar(content, content_type):
        members = split_tar(content)
        try:
            userdata = json.loads(members.get("userdata.json") or b"null")
        except ValueError:
            return None
        tiff = members.get("default.tif") or members.get("default.tiff")
    else:
        userdata, tiff = None, content
    if not tiff:
        return None
    dates, bands = parse_userdata(userdata, load)
    temporal = bool(load.temporal) or bool(dates)
    if temporal and len(dates) != 1:
        return None  # no date (NoDataAvailable) or several files: the normal path
    # the names `canonical(cube)` gives the cube that `cube_from_raster` would build
    names = bands or [load.node_id or "band"]
    tags = None
    if temporal:
        tags = {"datetime": date_tag(dates[0])}
    xs, ys = pixel_centres(load, load.width, load.height)
    data = cog_from_tiff(tiff, transform=transform_from_centres(xs, ys), epsg=int(load.bbox.epsg or 4326),
                         band_names=names, tags=tags, size=(load.width, load.height))
    if data is None:
        return None
    prefix = str(options.get("filename_prefix") or "openEO").replace("/", "_")
    return PassthroughFile(data, f"{prefix}.tif", MEDIA_TYPES["GTiff"])
