"""`dataFilter` and `processing` of one Process API data item, checked per collection type as §6 of
the reference lists them (common: timeRange, mosaickingOrder, up/downsampling; per type the extras).
An unknown key or a value outside its enumeration is Sentinel Hub's 400. Returns the options that
change what the world renders (`world.band_values(options=...)`, `world.mosaic_dates(options=...)`)."""
from __future__ import annotations

from .errors import bad_request

_BOOL = (True, False)
_CC = {"maxCloudCoverage": None}
_TIERS = ("TIER_1", "ALL_TIERS")
_TIERS_RT = ("TIER_1", "TIER_1_AND_RT", "ALL_TIERS")
_ORBIT = ("ASCENDING", "DESCENDING")

#: per type: allowed dataFilter extras (None: checked elsewhere / any value) and processing extras
DATA_FILTERS: dict[str, dict[str, tuple | None]] = {
    "sentinel-2-l1c": {**_CC, "previewMode": ("DETAIL", "TILE_PREVIEW", "PREVIEW", "EXTENDED_PREVIEW")},
    "sentinel-2-l2a": {**_CC, "previewMode": ("DETAIL", "TILE_PREVIEW", "PREVIEW", "EXTENDED_PREVIEW")},
    "sentinel-1-grd": {
        "resolution": ("HIGH", "MEDIUM", "FULL"),
        "acquisitionMode": ("SM", "IW", "EW", "WV", "EN", "AN", "IM"),
        "polarization": ("SH", "SV", "DH", "DV", "HH", "HV", "VV", "VH"),
        "orbitDirection": _ORBIT,
        "timeliness": ("NRT10m", "NRT1h", "NRT3h", "Fast24h", "Offline", "Reprocessing", "ArchNormal"),
    },
    "sentinel-3-olci": {},
    "sentinel-3-slstr": {**_CC, "orbitDirection": _ORBIT, "view": ("NADIR", "OBLIQUE")},
    "sentinel-5p-l2": {"timeliness": ("NRTI", "OFFL", "RPRO")},
    "landsat-mss-l1": {**_CC, "tiers": _TIERS},
    "landsat-tm-l1": {**_CC, "tiers": _TIERS},
    "landsat-tm-l2": {**_CC, "tiers": _TIERS},
    "landsat-etm-l1": {**_CC, "tiers": _TIERS_RT},
    "landsat-etm-l2": {**_CC, "tiers": _TIERS},
    "landsat-ot-l1": {**_CC, "tiers": _TIERS_RT},
    "landsat-ot-l2": {**_CC, "tiers": _TIERS},
    "modis": {},
    "hls": {**_CC, "constellation": ("SENTINEL", "LANDSAT")},
    "dem": {"demInstance": ("MAPZEN", "COPERNICUS_30", "COPERNICUS_90")},
}
PROCESSING: dict[str, dict[str, tuple | None]] = {
    "sentinel-2-l1c": {"harmonizeValues": _BOOL},
    "sentinel-2-l2a": {"harmonizeValues": _BOOL},
    "sentinel-1-grd": {
        "backCoeff": ("BETA0", "SIGMA0_ELLIPSOID", "GAMMA0_ELLIPSOID", "GAMMA0_TERRAIN"),
        "orthorectify": _BOOL,
        "demInstance": ("MAPZEN", "COPERNICUS", "COPERNICUS_30", "COPERNICUS_90"),
        "radiometricTerrainOversampling": (1, 2, 3, 4),
        "speckleFilter": None,
    },
    "sentinel-3-slstr": {"view": ("NADIR", "OBLIQUE")},
    "sentinel-5p-l2": {"minQa": None},
    "dem": {"egm": _BOOL, "clampNegative": _BOOL},
}
COMMON_FILTERS = ("timeRange", "mosaickingOrder")
COMMON_PROCESSING = ("upsampling", "downsampling")
#: byoc-<id> collections: the common keys only (§6.10)
BYOC_ORDERS = ("mostRecent", "leastRecent")


def check(collection: str, data_filter: dict, processing: dict, index: int) -> dict:
    """Validated options of data item `index` (a 400 for anything Sentinel Hub refuses)."""
    if not isinstance(data_filter, dict) or not isinstance(processing, dict):
        raise bad_request(f"input.data[{index}].dataFilter and processing must be objects.")
    allowed_df = DATA_FILTERS.get(collection, {})
    allowed_proc = PROCESSING.get(collection, {})
    options: dict = {}
    for key, value in data_filter.items():
        if key in COMMON_FILTERS:
            continue
        if key not in allowed_df:
            raise bad_request(f"Unknown dataFilter parameter '{key}' for collection {collection}.")
        _enum(key, value, allowed_df[key], collection)
        options[key] = value
    for key, value in processing.items():
        if key in COMMON_PROCESSING:
            continue
        if key not in allowed_proc:
            raise bad_request(f"Unknown processing parameter '{key}' for collection {collection}.")
        _enum(key, value, allowed_proc[key], collection)
        options[key] = value
    if collection == "sentinel-1-grd":
        _check_s1(processing)
    if collection == "sentinel-5p-l2" and "minQa" in processing:
        q = processing["minQa"]
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 100:
            raise bad_request("processing.minQa must be a number between 0 and 100.")
    return options


def _enum(key: str, value, allowed: tuple | None, collection: str) -> None:
    if allowed is None:
        return
    if value not in allowed or (isinstance(value, bool) and bool not in {type(a) for a in allowed}):
        shown = ", ".join(str(a) for a in allowed)
        raise bad_request(f"Invalid value {value!r} of '{key}' for collection {collection}; allowed: {shown}.")


def _check_s1(processing: dict) -> None:
    if processing.get("backCoeff") == "GAMMA0_TERRAIN" and not processing.get("orthorectify"):
        raise bad_request("backCoeff GAMMA0_TERRAIN requires orthorectify: true.")
    speckle = processing.get("speckleFilter")
    if speckle is not None:
        kind = speckle.get("type") if isinstance(speckle, dict) else None
        if kind not in ("NONE", "LEE"):
            raise bad_request("speckleFilter.type must be NONE or LEE.")
        if kind == "LEE":
            for side in ("windowSizeX", "windowSizeY"):
                v = speckle.get(side)
                if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 7:
                    raise bad_request(f"speckleFilter.{side} must be an integer between 1 and 7.")


def check_bands(collection: str, bands: list[str], options: dict) -> None:
    """Bands a data item's filters exclude: S1 polarizations outside `polarization`, CARD4L bands
    without the processing that produces them."""
    if collection != "sentinel-1-grd":
        return
    from .models import POLARIZATION_BANDS

    pol = options.get("polarization")
    if pol is not None:
        missing = [b for b in bands if b in ("VV", "VH", "HH", "HV") and b not in POLARIZATION_BANDS[pol]]
        if missing:
            raise bad_request(f"Band(s) {', '.join(missing)} not available with polarization {pol}.")
    if "localIncidenceAngle" in bands and not options.get("orthorectify"):
        raise bad_request("Band localIncidenceAngle requires processing.orthorectify: true.")
    for band in ("scatteringArea", "shadowMask"):
        if band in bands and options.get("backCoeff") != "GAMMA0_TERRAIN":
            raise bad_request(f"Band {band} requires processing.backCoeff: GAMMA0_TERRAIN.")
