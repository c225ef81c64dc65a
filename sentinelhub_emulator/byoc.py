"""BYOC (§5.6 of the reference): two demo collections owned by different accounts, with world
data, and the read side of the BYOC API (collections, tiles, `global` locations).

* a categorical UINT8 land cover (band `LC`, no-data 0), one sensing time (2021-01-01), owned by
  the demo client's account;
* a FLOAT32 soil moisture product (band `SM`, m³/m³, NaN = no data, e.g. over water), monthly in
  2022, owned by the second demo client's account.
Both cover Europe (EXTENT) and live on SH main ("aws-eu-central-1")."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from .specs import DATAMASK, BandSpec, CollectionSpec

UTC = timezone.utc
LANDCOVER_ID = "8a3f1c9e-2b4d-4e6f-9a1b-3c5d7e9f0a12"
SOIL_MOISTURE_ID = "5b7e2d4c-6a8f-4c1e-b3d5-7f9a1c3e5b24"
EXTENT = (-10.0, 35.0, 30.0, 60.0)  # west, south, east, north (WGS84)
LOCATION = "aws-eu-central-1"  # SH main (the emulator's "/")
LOCATION_DEPLOYMENT = "main"
#: land cover classes (ESA WorldCover-like codes)
TREES, SHRUBS, GRASS, CROPS, BUILT, BARE, WATER = 10, 20, 30, 40, 50, 60, 80

DEMO: dict[str, dict] = {
    LANDCOVER_ID: {
        "name": "Demo land cover 2021", "owner": "demo-client", "s3Bucket": "demo-landcover",
        "bands": {"LC": {"source": "LC", "bandIndex": 1, "bitDepth": 8, "sampleFormat": "UINT", "noData": 0}},
        "spec": CollectionSpec(
            id=f"byoc-{LANDCOVER_ID}", bands=(BandSpec("LC", "DN", {"DN": 1.0}, "UINT8"), DATAMASK),
            epoch=datetime(2021, 1, 1, tzinfo=UTC), end=datetime(2021, 1, 1, tzinfo=UTC), revisit_days=1,
            nodata=0.0, has_cloud_cover=False, mosaicking=("SIMPLE", "ORBIT", "TILE"), gsd=10),
    },
    SOIL_MOISTURE_ID: {
        "name": "Demo soil moisture 2022", "owner": "demo-client-2", "s3Bucket": "demo-soil-moisture",
        "bands": {"SM": {"source": "SM", "bandIndex": 1, "bitDepth": 32, "sampleFormat": "FLOAT"}},
        "spec": CollectionSpec(
            id=f"byoc-{SOIL_MOISTURE_ID}", bands=(BandSpec("SM", "DN", {"DN": 1.0}, "FLOAT32"), DATAMASK),
            epoch=datetime(2022, 1, 15, tzinfo=UTC), end=datetime(2022, 12, 31, tzinfo=UTC), revisit_days=30,
            nodata=float("nan"), has_cloud_cover=False, mosaicking=("SIMPLE", "ORBIT", "TILE"), gsd=100),
    },
}


def spec_for(collection: str) -> CollectionSpec:
    """The world's spec of `byoc-<id>` (KeyError for unknown ids)."""
    return DEMO[collection.removeprefix("byoc-")]["spec"]


def owner_of(collection: str) -> str | None:
    entry = DEMO.get(collection.removeprefix("byoc-"))
    return entry["owner"] if entry else None


def in_extent(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    w, s, e, n = EXTENT
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def valid(spec: CollectionSpec, land: dict, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """dataMask: inside the tiles' cover geometry; soil moisture has none over water."""
    ok = in_extent(lon, lat)
    if spec.id.endswith(SOIL_MOISTURE_ID):
        ok = ok & ~land["water"]
    return ok


def value(spec: CollectionSpec, band: str, land: dict, season: float) -> np.ndarray:
    veg, relief = land["veg"], land["relief"]
    if band == "LC":
        lc = np.select([land["water"], relief > 0.85, veg > 0.75, veg > 0.6, veg > 0.45, veg > 0.3],
                       [WATER, BARE, TREES, CROPS, GRASS, SHRUBS], BUILT)
        return lc.astype(np.float64)
    return np.round(0.05 + 0.35 * veg * (1.2 - 0.6 * season), 4)  # SM, m³/m³: wetter in winter


# --------------------------------------------------------------------------- API documents


def _ring() -> list:
    w, s, e, n = EXTENT
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def collection_document(cid: str, account: str) -> dict:
    entry, spec = DEMO[cid], DEMO[cid]["spec"]
    end = spec.end or spec.epoch
    return {
        "id": cid, "userId": account, "accountId": account, "name": entry["name"], "s3Bucket": entry["s3Bucket"],
        "isConfigured": True, "created": "2023-01-10T08:00:00.000Z", "requiresMetadataUpdate": False,
        "additionalData": {
            "bands": entry["bands"], "maxMetersPerPixel": 500.0,
            "extent": {"type": "Polygon", "coordinates": [_ring()]},
            "hasSensingTimes": "YES",
            "fromSensingTime": spec.epoch.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "toSensingTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def tiles(cid: str) -> list[dict]:
    spec = DEMO[cid]["spec"]
    out, t, k = [], spec.epoch, 0
    while t <= (spec.end or spec.epoch):
        out.append({"id": f"{cid[:8]}-tile-{k:04d}", "path": f"{DEMO[cid]['s3Bucket']}/{t:%Y-%m-%d}/(BAND).tif",
                    "sensingTime": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "status": "INGESTED",
                    "coverGeometry": {"type": "Polygon", "coordinates": [_ring()]},
                    "created": "2023-01-10T08:00:00.000Z", "additionalData": {"failedIngestionCause": None}})
        t += timedelta(days=spec.revisit_days)
        k += 1
    return out
