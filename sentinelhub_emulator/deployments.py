"""The Sentinel Hub deployments one emulator process serves, under base paths (§1.1-1.2 of the
reference): `/` = SH main (eu-central-1), `/uswest2`, `/creodias` (tokens of the main realm work on
all three) and `/cdse` (the Copernicus Data Space Ecosystem: its own realm, its own clients).

Each deployment serves only the collection types §1.2 says it hosts (some from a later date); a
request for another one is a 400. SH main's (and CDSE's) Process API also fuses collections hosted
on other deployments of its realm ("remote collections")."""
from __future__ import annotations

from datetime import datetime, timezone

from .errors import bad_request

MAIN = "main"
#: deployment name -> base path
PREFIXES = {MAIN: "", "uswest2": "/uswest2", "creodias": "/creodias", "cdse": "/cdse"}
#: deployment name -> identity realm (tokens of one realm work on its deployments only)
REALMS = {MAIN: "main", "uswest2": "main", "creodias": "main", "cdse": "CDSE"}
#: deployments whose Process API fuses collections of other deployments of the same realm
FUSION_HUBS = (MAIN, "cdse")

_S2 = ("sentinel-2-l1c", "sentinel-2-l2a")
_LANDSAT = ("landsat-mss-l1", "landsat-tm-l1", "landsat-tm-l2", "landsat-etm-l1", "landsat-etm-l2",
            "landsat-ot-l1", "landsat-ot-l2")
_S3_S5P = ("sentinel-3-olci", "sentinel-3-slstr", "sentinel-5p-l2")
_UTC = timezone.utc
#: deployment -> hosted collection type -> first date served there (None: the whole archive)
HOSTED: dict[str, dict[str, datetime | None]] = {
    MAIN: {**dict.fromkeys(_S2), "sentinel-1-grd": None, "dem": None},
    "uswest2": {**dict.fromkeys(_LANDSAT), "modis": None, "hls": None, "dem": None},
    "creodias": {**dict.fromkeys(_S2), "sentinel-1-grd": datetime(2022, 11, 1, tzinfo=_UTC),
                 **dict.fromkeys(_S3_S5P)},
    "cdse": {**dict.fromkeys(_S2), "sentinel-1-grd": None, "dem": None,
             "landsat-ot-l1": datetime(2021, 1, 1, tzinfo=_UTC), **dict.fromkeys(_S3_S5P)},
}
#: DEM instances CDSE offers (no MAPZEN there; its default is COPERNICUS_30)
CDSE_DEM_INSTANCES = ("COPERNICUS_30", "COPERNICUS_90")


def split(path: str) -> tuple[str, str]:
    """(deployment, path below its base) of a request path."""
    for name, prefix in PREFIXES.items():
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            return name, path[len(prefix):] or "/"
    return MAIN, path


def hosts(deployment: str, collection: str, byoc_location: str | None = None) -> bool:
    if collection.startswith("byoc-"):
        return byoc_location == deployment
    return collection in HOSTED[deployment]


def check_data(deployment: str, data: list, byoc_location=lambda cid: None) -> None:
    """Refuses data items this deployment cannot serve; moves each item's `time_from` to the first
    date the deployment has. `data` items are `process_request.DataInput`s (changed in place)."""
    fusion = len(data) > 1
    for item in data:
        cid = item.collection
        if hosts(deployment, cid, byoc_location(cid)):
            start = None if cid.startswith("byoc-") else HOSTED[deployment][cid]
            if start is not None and item.time_from < start:
                item.time_from = start
            if deployment == "cdse" and cid == "dem":
                instance = item.options.setdefault("demInstance", "COPERNICUS_30")
                if instance not in CDSE_DEM_INSTANCES:
                    raise bad_request(f"demInstance {instance} is not available on this deployment.")
            continue
        remote = [d for d in PREFIXES if REALMS[d] == REALMS[deployment] and hosts(d, cid, byoc_location(cid))]
        if fusion and deployment in FUSION_HUBS and remote:
            item.remote = True
            continue
        where = f" (served by {', '.join(remote)})" if remote else ""
        raise bad_request(f"Collection {cid} is not available on this deployment{where}.")
