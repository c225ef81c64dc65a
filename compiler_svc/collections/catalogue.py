"""Reads the STAC collection documents in `data/` and answers questions about them."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from backend_common.errors import OpenEOError
from compiler_svc.collections import load_options

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
    def processing_defaults(self) -> dict:
        """Sentinel Hub `processing` options the collection always sends (e.g. CARD4L's)."""
        return dict(self.doc.get("sh_processing_defaults") or {})

    @property
    def data_filter_defaults(self) -> dict:
        return dict(self.doc.get("sh_data_filter_defaults") or {})

    @property
    def aliases(self) -> list[str]:
        return list(self.doc.get("sh_aliases") or [])

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
        return {name: q.schema for name, q in QUERYABLES.items() if q.applies(self.sh_type, self.has_cloud_cover)}

    @property
    def is_sar(self) -> bool:
        return "sar:polarizations" in self.doc["summaries"]

    def resolve_band(self, name: str) -> list[str]:
        """Band names matching `name`: the unique name wins over common names (openEO rule)."""
        if name in self.band_names:
            return [name]
        return [b["name"] for b in self.bands if b.get("common_name") == name]

    def gsd(self, band: str) -> float | None:
        """The band's native resolution in metres; None for bands computed per output pixel (dataMask)."""
        for b in self.bands:
            if b["name"] == band:
                return float(b["gsd"]) if "gsd" in b else None
        raise KeyError(band)


#: property -> its `Queryable` (JSON Schema, collections, Sentinel Hub key); `compiler_svc.collections.load_options`
#: checks the conditions and turns them into Sentinel Hub data filters / processing options.
QUERYABLES = load_options.QUERYABLES


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


class Catalogue(Mapping):
    """The collections by id. Lookups also accept an alias (the old backend's ids, e.g.
    `SENTINEL2_L2A_SENTINELHUB`) and answer the collection it names; iteration lists each
    collection once, under its own id."""

    def __init__(self, collections: dict[str, Collection]):
        self._collections = collections
        self._aliases = {alias: c for c in collections.values() for alias in c.aliases}

    def __getitem__(self, collection_id: str) -> Collection:
        found = self._collections.get(collection_id) or self._aliases.get(collection_id)
        if found is None:
            raise KeyError(collection_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._collections)

    def __len__(self) -> int:
        return len(self._collections)

    def __contains__(self, collection_id: object) -> bool:
        return collection_id in self._collections or collection_id in self._aliases

    @property
    def aliases(self) -> dict[str, str]:
        return {alias: c.id for alias, c in self._aliases.items()}


@functools.lru_cache(maxsize=1)
def _static_catalogue() -> Catalogue:
    result = {}
    for path in sorted(DATA.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        result[doc["id"]] = Collection(doc["id"], doc)
    result.update({cid: Collection(cid, doc) for cid, doc in byoc.configured().items()})  # the operator's BYOC
    return Catalogue(result)


def catalogue() -> Catalogue:
    """Every collection, plus the calling user's BYOC collections while compiling their graph."""
    static = _static_catalogue()
    extra = byoc.current()
    if not extra:
        return static
    return Catalogue({**{cid: static[cid] for cid in static}, **{cid: Collection(cid, doc) for cid, doc in extra.items()}})


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
        "$id": f"/collections/{coll.id}/queryables",
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
