"""Catalog API (STAC) search over the synthetic world: one item per acquisition and 1°×1° cell."""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from . import world
from .errors import bad_request

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
MAX_CELLS = 20000
CATALOG_COLLECTIONS = tuple(c for c in world.COLLECTIONS if c != "dem")
QUERYABLE = "eo:cloud_cover"
#: per type, the item properties a search may filter on besides eo:cloud_cover (§6 of the reference)
TYPE_QUERYABLES = {
    "sentinel-1-grd": ("sat:orbit_state", "sar:instrument_mode", "s1:polarization", "s1:resolution",
                       "s1:timeliness"),
    "sentinel-3-slstr": ("sat:orbit_state",),
    "sentinel-5p-l2": ("s5p:timeliness", "sat:absolute_orbit"),
}
_OPS = {"=": "eq", "eq": "eq", "<>": "neq", "!=": "neq", "neq": "neq", "<": "lt", "lt": "lt", "<=": "lte",
        "lte": "lte", ">": "gt", "gt": "gt", ">=": "gte", "gte": "gte", "between": "between"}
_TEXT_CMP = re.compile(r"^\s*([\w:.\-]+)\s*(<=|>=|<>|!=|=|<|>)\s*(-?\d+(?:\.\d+)?|'[^']*')\s*$")
_TEXT_BETWEEN = re.compile(r"^\s*([\w:.\-]+)\s+between\s+(-?\d+(?:\.\d+)?)\s+and\s+(-?\d+(?:\.\d+)?)\s*$", re.I)


def _parse_instant(text: str) -> datetime:
    t = text.strip()
    try:
        if len(t) == 10:
            return datetime.fromisoformat(t).replace(tzinfo=timezone.utc)
        return datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise bad_request(f"Invalid datetime '{text}'") from None


def parse_interval(value) -> tuple[datetime, datetime]:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("Parameter 'datetime' is required.")
    if "/" in value:
        a, b = value.split("/", 1)
        start = datetime(1970, 1, 1, tzinfo=timezone.utc) if a in ("..", "") else _parse_instant(a)
        end = datetime(2100, 1, 1, tzinfo=timezone.utc) if b in ("..", "") else _parse_instant(b)
    else:
        start = end = _parse_instant(value)
    if end < start:
        raise bad_request("datetime interval end is before its start.")
    return start, end


def _cmp(op: str, value, args) -> bool:
    if op == "between":
        return args[0] <= value <= args[1]
    ref = args[0]
    if isinstance(ref, str) or isinstance(value, str):
        if op not in ("eq", "neq"):
            raise bad_request("Text properties compare with = or <> only.")
        return (value == ref) == (op == "eq")
    return {"eq": value == ref, "neq": value != ref, "lt": value < ref, "lte": value <= ref,
            "gt": value > ref, "gte": value >= ref}[op]


def _literal(text: str):
    return text[1:-1] if text.startswith("'") else float(text)


def parse_filter(flt, lang: str | None) -> list[tuple[str, str, list]]:
    """A conjunction of (property, op, args) tests; args are numbers or strings."""
    if flt is None:
        return []
    conds = []
    if isinstance(flt, str) and (lang in (None, "cql2-text")):
        for part in re.split(r"\s+and\s+(?![\d.\-]+\s*$)", flt.strip(), flags=re.I):
            m = _TEXT_BETWEEN.match(part)
            if m:
                prop, args, op = m.group(1), [float(m.group(2)), float(m.group(3))], "between"
            else:
                m = _TEXT_CMP.match(part)
                if not m:
                    raise bad_request(f"Unsupported filter expression '{part}'.")
                prop, op, args = m.group(1), _OPS[m.group(2)], [_literal(m.group(3))]
            conds.append((prop, op, args))
        return conds
    if isinstance(flt, dict):
        def walk(node):
            op = str(node.get("op", "")).lower()
            if op == "and":
                for a in node.get("args", []):
                    walk(a)
                return
            if op not in _OPS:
                raise bad_request(f"Unsupported filter operator '{op}'.")
            args = node.get("args") or []
            if not args or not isinstance(args[0], dict) or not isinstance(args[0].get("property"), str):
                raise bad_request("A filter compares a property with values.")
            vals = args[1:]
            if len(vals) == 1 and isinstance(vals[0], list):
                vals = vals[0]
            if not vals or not all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in vals):
                raise bad_request("Filter arguments must be numbers or strings.")
            conds.append((args[0]["property"], _OPS[op], [v if isinstance(v, str) else float(v) for v in vals]))
        walk(flt)
        return conds
    raise bad_request("Unsupported filter / filter-lang.")


def queryables(collection: str) -> tuple[str, ...]:
    spec = world.collection_spec(collection)
    return ((QUERYABLE,) if spec.has_cloud_cover else ()) + TYPE_QUERYABLES.get(spec.id, ())


def date_properties(collection: str, date: datetime) -> dict:
    """Properties every item of one acquisition shares (what searches filter on)."""
    spec = world.collection_spec(collection)
    props: dict = {}
    if spec.has_cloud_cover:
        props["eo:cloud_cover"] = world.scene_cloud_cover(spec.id, date)
    orbit = world.orbit_state(spec.id, date)
    if orbit is not None:
        props["sat:orbit_state"] = orbit
    if spec.id == "sentinel-1-grd":
        props.update({"sar:instrument_mode": "IW", "s1:polarization": "DV", "s1:resolution": "HIGH",
                      "s1:timeliness": "Fast24h"})
    elif spec.id == "sentinel-5p-l2":
        # ~14.2 orbits a day since launch (2017-10-13)
        orbit_no = int((date - datetime(2017, 10, 13, tzinfo=timezone.utc)).total_seconds() // (101 * 60))
        props.update({"s5p:timeliness": "OFFL", "sat:absolute_orbit": orbit_no})
    elif spec.id.startswith("landsat"):
        from .models import landsat_tier

        props["landsat:collection_category"] = "T1" if landsat_tier(spec.id, date) == "TIER_1" else "T2"
    elif spec.id == "hls":
        from .models import hls_constellation

        props["constellation"] = "sentinel-2" if hls_constellation(date) == "SENTINEL" else "landsat"
    return props


def _spatial_filter(bbox, intersects):
    """(geometry of `intersects` or None, bounds) of a search's spatial filter, validated; None
    when the search has none."""
    geom = None
    if intersects is not None:
        from shapely.geometry import shape

        try:
            geom = shape(intersects)
        except Exception as exc:  # noqa: BLE001
            raise bad_request(f"Invalid intersects geometry: {exc}") from None
        bbox = geom.bounds
    if bbox is None:
        return None
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(isinstance(v, (int, float)) for v in bbox):
        raise bad_request("bbox must be 4 numbers.")
    if bbox[0] > bbox[2] or bbox[1] > bbox[3]:
        raise bad_request("bbox is inverted.")
    return geom, tuple(bbox)


def _cells(bbox, intersects) -> list[tuple[int, int]] | None:
    """1°×1° cells touched by the spatial filter; None = no spatial filter (one global item per date)."""
    spatial = _spatial_filter(bbox, intersects)
    if spatial is None:
        return None
    geom, (minx, miny, maxx, maxy) = spatial
    xs = range(math.floor(minx), max(math.floor(minx) + 1, math.ceil(maxx)))
    ys = range(math.floor(miny), max(math.floor(miny) + 1, math.ceil(maxy)))
    if len(xs) * len(ys) > MAX_CELLS:
        raise bad_request("Spatial filter too large for the emulator.")
    cells = [(x, y) for y in ys for x in xs]
    if geom is not None:
        from shapely.geometry import box

        cells = [(x, y) for x, y in cells if geom.intersects(box(x, y, x + 1, y + 1))]
    return cells


def _utm_epsg(lon: float, lat: float) -> int:
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return (32600 if lat >= 0 else 32700) + zone


def make_item(collection: str, date: datetime, cell, base_url: str) -> dict:
    spec = world.collection_spec(collection)
    if spec.id.startswith("byoc-"):  # one tile per sensing time, covering the collection's extent
        from .byoc import EXTENT

        minx, miny, maxx, maxy = EXTENT
        cell_name = "TILE"
    elif cell is None:
        minx, miny, maxx, maxy = -180.0, -90.0, 180.0, 90.0
        cell_name = "GLOBAL"
    else:
        minx, miny, maxx, maxy = float(cell[0]), float(cell[1]), float(cell[0] + 1), float(cell[1] + 1)
        cell_name = f"{'E' if cell[0] >= 0 else 'W'}{abs(cell[0]):03d}{'N' if cell[1] >= 0 else 'S'}{abs(cell[1]):02d}"
    stamp = date.strftime("%Y%m%dT%H%M%S")
    item_id = f"EMU_{spec.id.upper().replace('-', '_')}_{stamp}_{cell_name}"
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    props = {"datetime": date.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": spec.platform,
             "constellation": spec.constellation, "instruments": list(spec.instruments), "gsd": spec.gsd,
             "proj:epsg": _utm_epsg((minx + maxx) / 2, (miny + maxy) / 2), **date_properties(spec.id, date)}
    items_url = f"{base_url}/api/v1/catalog/1.0.0/collections/{spec.id}/items/{item_id}"
    return {"stac_version": "1.0.0", "stac_extensions": [], "type": "Feature", "id": item_id,
            "collection": spec.id,
            "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
            "bbox": [minx, miny, maxx, maxy], "properties": props,
            "links": [{"rel": "self", "href": items_url, "type": "application/geo+json"}], "assets": {}}


def search(body: dict, base_url: str, hosted: set[str] | None = None, byoc_visible=None) -> dict:
    """A STAC search; `hosted`: the collections of the deployment searched (None: all);
    `byoc_visible(collection)`: whether the caller may search a `byoc-<id>` collection here (its
    account owns it and the deployment hosts it)."""
    if not isinstance(body, dict):
        raise bad_request("Search body must be a JSON object.")
    cols = body.get("collections")
    if not isinstance(cols, list) or len(cols) != 1:
        raise bad_request("Parameter 'collections' must contain exactly one collection.")
    collection = cols[0]
    if isinstance(collection, str) and collection.startswith("byoc-"):
        if byoc_visible is None or not byoc_visible(collection):
            raise bad_request(f"Illegal collection '{collection}'.")
        return _search_byoc(body, collection, base_url)
    if collection not in CATALOG_COLLECTIONS or (hosted is not None and collection not in hosted):
        raise bad_request(f"Illegal collection '{collection}'.")
    start, end = parse_interval(body.get("datetime"))
    limit, offset = _page(body)
    conds = parse_filter(body.get("filter"), body.get("filter-lang"))
    spec = world.collection_spec(collection)
    dates = world.acquisition_dates(collection, start, end)
    if conds:
        allowed = queryables(collection)
        for prop, _, _ in conds:
            if prop not in allowed:
                raise bad_request(f"Property '{prop}' is not queryable for {collection}.")
        dates = [d for d in dates if all(_cmp(op, date_properties(collection, d)[prop], a) for prop, op, a in conds)]
    distinct = body.get("distinct")
    if distinct is not None:
        if distinct != "date" and distinct not in TYPE_QUERYABLES.get(spec.id, ()):
            raise bad_request(f"Unsupported distinct '{distinct}'.")
        _cells(body.get("bbox"), body.get("intersects"))  # validation only
        if distinct == "date":
            values = sorted({d.strftime("%Y-%m-%d") for d in dates})
        else:
            values = sorted({str(date_properties(collection, d)[distinct]) for d in dates})
        page = values[offset: offset + limit]
        return _collection(page, offset, limit, len(values), base_url)
    cells = _cells(body.get("bbox"), body.get("intersects"))
    per_date = 1 if cells is None else len(cells)
    total = len(dates) * per_date
    ids = body.get("ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request("Parameter 'ids' must be a list of strings.")
        wanted = set(ids)
        everything = (make_item(collection, dates[k // per_date], None if cells is None else cells[k % per_date],
                                base_url) for k in range(total))
        matching = [f for f in everything if f["id"] in wanted]
        return _collection(matching[offset: offset + limit], offset, limit, len(matching), base_url)
    feats = []
    for k in range(offset, min(total, offset + limit)):
        d = dates[k // per_date]
        feats.append(make_item(collection, d, None if cells is None else cells[k % per_date], base_url))
    return _collection(feats, offset, limit, total, base_url)


def _search_byoc(body: dict, collection: str, base_url: str) -> dict:
    """A BYOC collection's search: one item per tile (sensing time), covering the collection's
    extent; no queryable properties; `distinct` only by `date` (§5.6)."""
    from shapely.geometry import box

    from .byoc import EXTENT

    start, end = parse_interval(body.get("datetime"))
    limit, offset = _page(body)
    conds = parse_filter(body.get("filter"), body.get("filter-lang"))
    if conds:
        raise bad_request(f"Property '{conds[0][0]}' is not queryable for {collection}.")
    dates = world.acquisition_dates(collection, start, end)
    spatial = _spatial_filter(body.get("bbox"), body.get("intersects"))
    if spatial is not None:
        geom, bounds = spatial
        if not (geom if geom is not None else box(*bounds)).intersects(box(*EXTENT)):
            dates = []
    distinct = body.get("distinct")
    if distinct is not None:
        if distinct != "date":
            raise bad_request(f"Unsupported distinct '{distinct}'.")
        values = sorted({d.strftime("%Y-%m-%d") for d in dates})
        return _collection(values[offset: offset + limit], offset, limit, len(values), base_url)
    feats = [make_item(collection, d, None, base_url) for d in dates[offset: offset + limit]]
    return _collection(feats, offset, limit, len(dates), base_url)


def _page(body: dict) -> tuple[int, int]:
    """(limit, offset) of a search's page (`limit` capped, `next` as an offset)."""
    limit = body.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise bad_request("Parameter 'limit' must be an integer >= 1.")
    offset = body.get("next", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise bad_request("Parameter 'next' must be a non-negative integer.")
    return min(limit, MAX_LIMIT), offset


def _collection(features, offset, limit, total, base_url) -> dict:
    ctx = {"limit": limit, "returned": len(features)}
    links = [{"rel": "self", "href": f"{base_url}/api/v1/catalog/1.0.0/search", "type": "application/geo+json"}]
    if offset + len(features) < total:
        ctx["next"] = offset + len(features)
        links.append({"rel": "next", "href": f"{base_url}/api/v1/catalog/1.0.0/search?next={ctx['next']}",
                      "method": "POST", "merge": True, "body": {"next": ctx["next"]}})
    return {"type": "FeatureCollection", "features": features, "links": links, "context": ctx}
