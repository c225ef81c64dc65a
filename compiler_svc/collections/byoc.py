"""BYOC collections: the operator's (a configuration file, listed in /collections) and a user's own
(`load_collection("byoc-<id>")`, looked up through Sentinel Hub's BYOC API with the caller's token).

A user's collections are resolved before validation (`resolve_graph`, async, aiohttp) and exist only
in the context of that one request (`current()`, read by `catalogue.catalogue()`): another user's
request never sees them, and a collection the caller's account cannot read is CollectionNotFound.
Lookups are cached per (account token, collection) for CACHE_SECONDS in a bounded LRU.

Operator file (`BYOC_COLLECTIONS_FILE`, JSON list): `{"id": openEO id, "sh_collection_id": uuid,
"title"?, "description"?, "deployment"? ("sh-main"), "gsd"? (m), "temporal_extent"? [start, end],
"bands": [{"name", "data_type" (uint8/uint16/int16/float32), "nodata"?, "description"?}]}`."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass

from backend_common.errors import OpenEOError

PREFIX = "byoc-"
CACHE_SECONDS = 300.0
CACHE_ENTRIES = 256
#: BYOC `location` (§5.6 `byoc/global`) → the deployment names of the plan
LOCATIONS = {"aws-eu-central-1": "sh-main", "aws-us-west-2": "sh-uswest", "creo": "sh-creodias", "cdse": "cdse",
             "cdse-otc": "cdse"}
_DATA_TYPES = {("UINT", 8): "uint8", ("UINT", 16): "uint16", ("UINT", 32): "uint32", ("INT", 8): "int8",
               ("INT", 16): "int16", ("INT", 32): "int32", ("FLOAT", 32): "float32"}
_CURRENT: contextvars.ContextVar[dict[str, dict]] = contextvars.ContextVar("byoc_collections", default={})


def current() -> dict[str, dict]:
    """The caller's BYOC collections resolved for the request being compiled (id → collection document)."""
    return _CURRENT.get()


def document(openeo_id: str, sh_id: str, bands: list[dict], *, title: str = "", description: str = "",
             deployment: str = "sh-main", gsd: float = 10.0, start: str | None = None, end: str | None = None,
             bbox: list[float] | None = None) -> dict:
    """A STAC collection document (the shape of the catalogue's) for a BYOC collection."""
    bbox = bbox or [-180.0, -90.0, 180.0, 90.0]
    eo_bands = [{"name": b["name"], "gsd": gsd, "sh:units": ["DN"], **(
        {"description": b["description"]} if b.get("description") else {})} for b in bands]
    raster = [{"data_type": b["data_type"], **({"nodata": b["nodata"]} if b.get("nodata") is not None else {})}
              for b in bands]
    return {
        "type": "Collection", "id": openeo_id, "stac_version": "1.1.0",
        "stac_extensions": ["https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
                            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                            "https://stac-extensions.github.io/raster/v1.1.0/schema.json"],
        "title": title or openeo_id,
        "description": description or f"Sentinel Hub BYOC collection {sh_id} (data type `{PREFIX}{sh_id}`).",
        "license": "proprietary", "links": [],
        "sh_type": f"{PREFIX}{sh_id}", "sh_deployment": deployment, "sh_revisit_days": 1,
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [[start, end]]}},
        "cube:dimensions": {
            "x": {"type": "spatial", "axis": "x", "extent": [bbox[0], bbox[2]], "reference_system": 4326},
            "y": {"type": "spatial", "axis": "y", "extent": [bbox[1], bbox[3]], "reference_system": 4326},
            "t": {"type": "temporal", "extent": [start, end]},
            "bands": {"type": "bands", "values": [b["name"] for b in bands]},
        },
        "summaries": {"gsd": [gsd], "eo:bands": eo_bands, "raster:bands": raster},
    }


def _with_datamask(bands: list[dict]) -> list[dict]:
    names = {b["name"] for b in bands}
    return bands + ([] if "dataMask" in names else [{"name": "dataMask", "data_type": "uint8",
                                                      "description": "1 where the collection has data"}])


def configured(path: str | None = None) -> dict[str, dict]:
    """The operator's BYOC collections (`BYOC_COLLECTIONS_FILE`; none when unset): id → document."""
    path = path if path is not None else os.environ.get("BYOC_COLLECTIONS_FILE", "")
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        entries = json.load(fh)
    out = {}
    for e in entries:
        start, end = (e.get("temporal_extent") or [None, None])[:2]
        doc = document(e["id"], e["sh_collection_id"], _with_datamask(list(e["bands"])), title=e.get("title", ""),
                       description=e.get("description", ""), deployment=e.get("deployment", "sh-main"),
                       gsd=float(e.get("gsd", 10.0)), start=start, end=end)
        out[e["id"]] = doc
    return out


def from_api(sh_id: str, data: dict, location: str | None) -> dict:
    """A user's collection from the BYOC API's collection object."""
    extra = data.get("additionalData") or {}
    bands = []
    for name, b in (extra.get("bands") or {}).items():
        kind = _DATA_TYPES.get((str(b.get("sampleFormat", "UINT")).upper(), int(b.get("bitDepth", 8))), "float32")
        nodata = b.get("noData", data.get("noData"))
        bands.append({"name": name, "data_type": kind, "nodata": nodata})
    bbox = None
    ring = ((extra.get("extent") or {}).get("coordinates") or [[]])[0]
    if ring:
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        bbox = [min(xs), min(ys), max(xs), max(ys)]
    gsd = float(extra.get("maxMetersPerPixel") or 50.0) / 5.0  # SH: 5 × the tiles' median resolution
    openeo_id = PREFIX + sh_id
    doc = document(openeo_id, sh_id, _with_datamask(bands), title=str(data.get("name") or openeo_id),
                   deployment=LOCATIONS.get(location or "", "sh-main"), gsd=gsd,
                   start=extra.get("fromSensingTime"), end=extra.get("toSensingTime"), bbox=bbox)
    return doc


@dataclass(frozen=True)
class ByocSettings:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    timeout: float = 20.0

    @classmethod
    def from_env(cls) -> "ByocSettings":
        from backend_common.config import env_str, sentinelhub_base_url, sentinelhub_token_url

        return cls(sentinelhub_base_url(), sentinelhub_token_url(), env_str("SH_CLIENT_ID", ""),
                   env_str("SH_CLIENT_SECRET", ""))


class ByocResolver:
    """Looks `byoc-<id>` up for a user (bounded TTL cache; one aiohttp session)."""

    def __init__(self, settings: ByocSettings):
        self.settings = settings
        self._cache: OrderedDict[tuple[str, str], tuple[float, dict | None]] = OrderedDict()
        self._backend_token: tuple[float, str] | None = None
        self._session = None
        self._lock = asyncio.Lock()

    async def _http(self):
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _token(self, user) -> str:
        token = getattr(user, "sh_access_token", "") if user is not None else ""
        if token:
            return token
        now = time.monotonic()
        async with self._lock:
            if self._backend_token and self._backend_token[0] > now:
                return self._backend_token[1]
            s = self.settings
            if not s.client_id:
                raise OpenEOError("CollectionNotFound", "BYOC collections need a Sentinel Hub login.", 404)
            http = await self._http()
            async with http.post(s.token_url, data={"grant_type": "client_credentials", "client_id": s.client_id,
                                                    "client_secret": s.client_secret}) as resp:
                if resp.status != 200:
                    raise OpenEOError("ServiceUnavailable", "Sentinel Hub refused the backend's account.", 503)
                body = await resp.json()
            self._backend_token = (now + max(0.0, float(body.get("expires_in", 300)) - 60.0), body["access_token"])
            return body["access_token"]

    async def lookup(self, collection_id: str, user) -> dict:
        sh_id = collection_id[len(PREFIX):]
        token = await self._token(user)
        key = (token, sh_id)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            self._cache.move_to_end(key)
            found = hit[1]
        else:
            found = await self._fetch(sh_id, token)
            self._cache[key] = (now + CACHE_SECONDS, found)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        if found is None:
            raise OpenEOError("CollectionNotFound", f"Collection '{collection_id}' does not exist.", 404)
        return found

    async def _fetch(self, sh_id: str, token: str) -> dict | None:
        import aiohttp

        http = await self._http()
        base = self.settings.base_url.rstrip("/") + "/api/v1/byoc"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with http.get(f"{base}/collections/{sh_id}", headers=headers) as resp:
                if resp.status in (400, 401, 403, 404):
                    return None  # not this account's (or no such collection): indistinguishable on purpose
                if resp.status != 200:
                    raise OpenEOError("ServiceUnavailable", "Sentinel Hub's BYOC API is not available.", 503)
                data = (await resp.json())["data"]
            location = None
            async with http.get(f"{base}/global", params={"ids": sh_id}, headers=headers) as resp:
                if resp.status == 200:
                    entries = (await resp.json()).get("data") or []
                    location = next((e.get("location") for e in entries if e.get("id") == sh_id), None)
        except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, ValueError):
            raise OpenEOError("ServiceUnavailable", "Sentinel Hub's BYOC API is not available.", 503) from None
        return from_api(sh_id, data, location)


_RESOLVER: ByocResolver | None = None


def resolver() -> ByocResolver:
    global _RESOLVER
    if _RESOLVER is None:
        _RESOLVER = ByocResolver(ByocSettings.from_env())
    return _RESOLVER


def byoc_ids(process_json: str) -> set[str]:
    """The `byoc-<id>` collections a graph's load_collection nodes name (literal ids, callbacks included)."""
    try:
        stack = [json.loads(process_json)]
    except (ValueError, TypeError, RecursionError):
        return set()  # the compiler reports what is wrong with the graph
    ids = set()
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            cid = (value.get("arguments") or {}).get("id") if isinstance(value.get("arguments"), dict) else None
            if value.get("process_id") == "load_collection" and isinstance(cid, str) and cid.startswith(PREFIX):
                ids.add(cid)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return ids


async def resolve_graph(process_json: str, user, lookup=None) -> None:
    """Makes the caller's BYOC collections the graph loads known for the rest of this request
    (`current()`); an unknown or foreign one stays unknown (validation: CollectionNotFound)."""
    await resolve_ids(byoc_ids(process_json), user, lookup)


async def resolve_ids(ids: set[str], user, lookup=None) -> None:
    """`resolve_graph` for collection ids."""
    lookup = lookup or resolver().lookup
    found: dict[str, dict] = {}
    for cid in sorted(ids):
        try:
            found[cid] = await lookup(cid, user)
        except OpenEOError as exc:
            if exc.code != "CollectionNotFound":
                raise
    _CURRENT.set(found)
