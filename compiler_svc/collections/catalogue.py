"""Reads the STAC collection documents in `data/` and answers questions about them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from backend_common.errors import OpenEOError

from . import byoc

DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Collection:
    id: str
    doc: dict

    @property
    def sh_type(self) -> str:
        return self.doc["sh_type"]

    @property
    def sh_deployment(self) -> str:
        return self.doc.get("sh_deployment", "")

    @property
    def dem_instance(self) -> str | None:
        return self.doc.get("sh_dem_instance")

    @property
    def temporal(self) -> bool:
        return "t" in self.doc["cube:dimensions"]

    @property
    def band_names(self) -> list[str]:
        return list(self.doc["cube:dimensions"]["bands"]["values"])

    @property
    def bands(self) -> list[dict]:
        return self.doc["summaries"]["eo:bands"]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return tuple(self.doc["extent"]["spatial"]["bbox"][0])

    @property
    def time_extent(self) -> tuple[datetime | None, datetime | None]:
        start, end = self.doc["extent"]["temporal"]["interval"][0]
        return (_parse(start), _parse(end))

    @property
    def revisit_days(self) -> float:
        return float(self.doc.get("sh_revisit_days") or 1)

    @property
    def has_cloud_cover(self) -> bool:
        return "eo:cloud_cover" in self.doc["summaries"]

    @property
    def queryables(self) -> dict[str, dict]:
        """The metadata properties load_collection's `properties` can filter on here, with their
        JSON Schemas (what the planner turns into Sentinel Hub data filters)."""
        return {name: schema for name, (applies, schema) in QUERYABLES.items() if applies(self)}

    @property
    def is_sar(self) -> bool:
        return "sar:polarizations" in self.doc["summaries"]

    def resolve_band(self, name: str) -> list[str]:
        """Band names matching `name`: the unique name wins over common names (openEO rule)."""
        if name in self.band_names:
            return [name]
        return [b["name"] for b in self.bands if b.get("common_name") == name]

    def gsd(self, band: str) -> float:
        for b in self.bands:
            if b["name"] == band:
                return float(b["gsd"])
        raise KeyError(band)


#: property -> (which collections have it, its JSON Schema); the planner turns them into Sentinel
#: Hub data filters (`planner.property_filters`: maxCloudCoverage, orbitDirection).
QUERYABLES = {
    "eo:cloud_cover": (
        lambda c: c.has_cloud_cover,
        {"title": "Cloud cover", "description": "Cloud cover of the acquisition tile in percent; filter with "
         "`lte`, `lt` or `between` (an upper bound, Sentinel Hub's maxCloudCoverage).",
         "type": "number", "minimum": 0, "maximum": 100},
    ),
    "sat:orbit_state": (
        lambda c: c.is_sar,
        {"title": "Orbit direction", "description": "Direction of the satellite's pass; filter with `eq` "
         "(Sentinel Hub's orbitDirection).", "type": "string", "enum": ["ascending", "descending"]},
    ),
}


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


@functools.lru_cache(maxsize=1)
def _static_catalogue() -> dict[str, Collection]:
    result = {}
    for path in sorted(DATA.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        result[doc["id"]] = Collection(doc["id"], doc)
    result.update({cid: Collection(cid, doc) for cid, doc in byoc.configured().items()})  # the operator's BYOC
    return result


def catalogue() -> dict[str, Collection]:
    """Every collection, plus the calling user's BYOC collections while compiling their graph."""
    extra = byoc.current()
    if not extra:
        return _static_catalogue()
    return {**_static_catalogue(), **{cid: Collection(cid, doc) for cid, doc in extra.items()}}


def get_collection(collection_id: str) -> Collection:
    found = catalogue().get(collection_id)
    if found is None:
        raise OpenEOError("CollectionNotFound", f"Collection '{collection_id}' does not exist.", 404)
    return found


def _public(doc: dict) -> dict:
    """The public document; its links to this backend are paths (the gateway makes them absolute)."""
    return {k: v for k, v in doc.items() if not k.startswith("sh_")} | {
        "links": doc["links"] + [
            {"rel": "self", "href": f"/collections/{doc['id']}", "type": "application/json"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "href": f"/collections/{doc['id']}/queryables",
             "type": "application/schema+json", "title": "Queryables for load_collection's properties"},
        ],
        "sh_type": doc["sh_type"],
    }


def queryables_document(collection_id: str) -> dict:
    """Body of GET /collections/{id}/queryables (JSON Schema draft 2019-09, as OGC API Features
    Part 3 and openEO API 1.2 describe it)."""
    coll = get_collection(collection_id)
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"/collections/{collection_id}/queryables",
        "type": "object",
        "title": f"Queryables of {coll.doc.get('title') or collection_id}",
        "properties": coll.queryables,
        "additionalProperties": False,
    }


def collection_document(collection_id: str) -> dict:
    """Full STAC document for GET /collections/{id}."""
    return _public(get_collection(collection_id).doc)


def collections_document() -> dict:
    """Body of GET /collections: the short form (no cube:dimensions / summaries required)."""
    keys = ("stac_version", "stac_extensions", "type", "id", "title", "description", "keywords", "version",
            "license", "providers", "extent", "links")
    items = []
    for c in catalogue().values():
        full = _public(c.doc)
        items.append({k: full[k] for k in keys if k in full} | {"cube:dimensions": full["cube:dimensions"],
                                                                    "summaries": full["summaries"]})
    return {"collections": items, "links": []}
