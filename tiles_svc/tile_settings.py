"""What a published service asks of its tiles: size, format, zoom range and extent.

The tile format: the service configuration's `format` (png or jpeg) when given, else the graph's
`save_result` format when it is PNG or JPEG, else PNG."""

from __future__ import annotations

import json
from dataclasses import dataclass

from backend_common.errors import OpenEOError

FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}


@dataclass(frozen=True)
class TileSettings:
    tile_size: int = 256
    format: str = "png"
    min_zoom: int = 0
    max_zoom: int = 22
    # (west, south, east, north) in EPSG:4326, or None for the whole world.
    extent: tuple[float, float, float, float] | None = None

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]

    @property
    def gdal_format(self) -> str:
        return "JPEG" if self.format in ("jpeg", "jpg") else "PNG"


def settings_for(configuration_json: str, process_json: str) -> TileSettings:
    config = json.loads(configuration_json or "{}") or {}
    size = int(config.get("tile_size", 256))
    if size not in (256, 512):
        raise OpenEOError("ServiceConfigInvalid", "tile_size must be 256 or 512.", 400)
    process = json.loads(process_json or "{}")
    if config.get("format") is not None:
        fmt = str(config["format"]).lower()
        if fmt not in FORMATS:
            raise OpenEOError("ServiceConfigInvalid", "format must be png or jpeg.", 400)
    else:
        fmt = graph_image_format(process) or "png"
    return TileSettings(
        tile_size=size,
        format=fmt,
        min_zoom=int(config.get("min_zoom", config.get("minzoom", 0))),
        max_zoom=int(config.get("max_zoom", config.get("maxzoom", 22))),
        extent=graph_extent(process),
    )


def graph_image_format(process: dict) -> str | None:
    """The tile format the graph asks for: its result node's `save_result` format (else its only
    `save_result`'s) when that is PNG or JPEG (any case), else None (the caller's default, PNG:
    a GeoTIFF or netCDF save_result is a choice for downloads, not for map tiles)."""
    graph = process.get("process_graph", process) if isinstance(process, dict) else {}
    if not isinstance(graph, dict):
        return None
    saves = [node for node in graph.values()
             if isinstance(node, dict) and node.get("process_id") == "save_result"]
    chosen = [node for node in saves if node.get("result") is True] or (saves if len(saves) == 1 else [])
    if not chosen:
        return None
    fmt = (chosen[0].get("arguments") or {}).get("format")
    fmt = fmt.lower() if isinstance(fmt, str) else None
    return fmt if fmt in FORMATS else None


def graph_extent(process: dict) -> tuple[float, float, float, float] | None:
    """The union of the literal EPSG:4326 spatial extents of the graph's load_collection nodes.

    Extents given through parameters (spatial_extent_* of the tile) are not limits; a node with
    no literal extent means the whole world.
    """
    graph = process.get("process_graph", process) if isinstance(process, dict) else {}
    boxes = []
    for node in graph.values() if isinstance(graph, dict) else ():
        if not isinstance(node, dict) or node.get("process_id") != "load_collection":
            continue
        extent = (node.get("arguments") or {}).get("spatial_extent")
        if not isinstance(extent, dict):
            return None
        try:
            west, south, east, north = (float(extent[k]) for k in ("west", "south", "east", "north"))
        except (KeyError, TypeError, ValueError):
            return None
        crs = extent.get("crs", 4326)
        if str(crs) not in ("4326", "EPSG:4326"):
            return None
        boxes.append((west, south, east, north))
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
