"""Band values of the collections beyond the first five (S3, S5P, Landsat 1-9, MODIS, HLS), the
Sentinel-1 bands of other polarizations and CARD4L processing, and the data filters / processing
options that change values (S1 `backCoeff`, S5P `minQa`, DEM `demInstance`/`egm`) or pick scenes
(Landsat `tiers`, HLS `constellation`).

Pure functions of `world`'s surface (`_landscape`, seasons, cloud field); plausible ranges and units
per §6 of the reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from . import byoc, world
from .specs import OLCI_BANDS, S2_ALL, SLSTR_BANDS, CollectionSpec

# Sentinel-2 band whose spectrum stands in for a band of another sensor (by wavelength).
_OLCI_EQ = dict(zip(OLCI_BANDS, ("B01", "B01", "B01", "B02", "B02", "B03", "B04", "B04", "B04", "B04", "B05",
                                 "B06", "B06", "B06", "B06", "B07", "B8A", "B8A", "B09", "B09", "B8A")))
_SLSTR_EQ = dict(zip(SLSTR_BANDS, ("B03", "B04", "B8A", "B10", "B11", "B12")))
_MODIS_EQ = {"B01": "B04", "B02": "B8A", "B03": "B02", "B04": "B03", "B05": "B09", "B06": "B11", "B07": "B12"}
_MSS_EQ = {"B01": "B03", "B02": "B04", "B03": "B07", "B04": "B08"}
_TM_EQ = {"B01": "B02", "B02": "B03", "B03": "B04", "B04": "B08", "B05": "B11", "B07": "B12", "B08": "B03"}
_OT_EQ = {"B01": "B01", "B02": "B02", "B03": "B03", "B04": "B04", "B05": "B8A", "B06": "B11", "B07": "B12",
          "B08": "B03", "B09": "B10"}
_HLS_EQ = {"CoastalAerosol": "B01", "Blue": "B02", "Green": "B03", "Red": "B04", "RedEdge1": "B05",
           "RedEdge2": "B06", "RedEdge3": "B07", "NIR_Broad": "B08", "NIR_Narrow": "B8A", "SWIR1": "B11",
           "SWIR2": "B12", "WaterVapor": "B09", "Cirrus": "B10"}
_OPTICAL_EQ = {"sentinel-3-olci": _OLCI_EQ, "sentinel-3-slstr": _SLSTR_EQ, "modis": _MODIS_EQ,
               "landsat-mss-l1": _MSS_EQ, "landsat-tm-l1": _TM_EQ, "landsat-tm-l2": _TM_EQ,
               "landsat-etm-l1": _TM_EQ, "landsat-etm-l2": _TM_EQ, "landsat-ot-l1": _OT_EQ, "hls": _HLS_EQ}
_ANGLE_EQ = {"SZA": "sunZenithAngles", "SAA": "sunAzimuthAngles", "VZA": "viewZenithMean", "VAA": "viewAzimuthMean"}
#: S1 polarization filter → the bands its products carry
POLARIZATION_BANDS = {"SV": {"VV"}, "DV": {"VV", "VH"}, "SH": {"HH"}, "DH": {"HH", "HV"},
                      "VV": {"VV"}, "VH": {"VH"}, "HH": {"HH"}, "HV": {"HV"}}
S5P_DEFAULT_MIN_QA = {"NO2": 75}
HLS_SENTINEL_START = datetime(2015, 11, 28, tzinfo=timezone.utc)
OLCI_LAND_FLAG = 2.0 ** 31  # QUALITY_FLAGS bit 31: land


@dataclass
class Context:
    """What every band of one acquisition shares (computed once per `world.band_values` call)."""

    spec: CollectionSpec
    land: dict
    season: float
    day: int
    date: datetime | None
    cloudy: np.ndarray
    u: np.ndarray | None
    lon: np.ndarray
    lat: np.ndarray
    options: dict
    #: values several bands of one call share (native cells, S5P qa_value)
    memo: dict = field(default_factory=dict)


def _rounded(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(x / step) * step


def _reflectance(ctx: Context, s2_band: str) -> np.ndarray:
    r = world._optical_reflectance(s2_band, ctx.land, ctx.season, ctx.cloudy, ctx.day)
    if ctx.spec.id.endswith("-l1") and s2_band in ("B01", "B02", "B03"):
        r = r + 0.02  # top of atmosphere: path radiance brightens the short wavelengths
    if world.orbit_state(ctx.spec.id, ctx.date) == "ascending" and ctx.spec.id == "sentinel-3-slstr":
        r = r * 0.0  # SLSTR's ascending passes are at night
    return _rounded(np.clip(r, 0.0, 1.0), 1e-4)


def _temperature(ctx: Context, band: str) -> np.ndarray:
    land = ctx.land
    t = 268.0 + 30.0 * ctx.season + 8.0 * (1.0 - land["veg"]) - 10.0 * land["relief"]
    if ctx.spec.id.endswith("-l1") or ctx.spec.id in ("sentinel-3-slstr", "hls"):
        t = t - 3.0  # brightness temperature: below the surface temperature
    if band in ("B06_VCID_2", "B11", "S9", "ThermalInfrared2"):
        t = t - 1.5  # the longer-wave channel
    if world.orbit_state(ctx.spec.id, ctx.date) == "ascending":
        t = t - 8.0  # night
    return np.round(np.where(ctx.cloudy, t - 25.0, t), 2)


def _cells(ctx: Context, size: float) -> tuple[np.ndarray, np.ndarray]:
    key = ("cells", size)
    if key not in ctx.memo:
        row, col = world._separable(ctx.lon, ctx.lat)  # per row / column of a broadcast grid, then broadcast
        shape = np.broadcast_shapes(ctx.lon.shape, ctx.lat.shape)
        ctx.memo[key] = (np.broadcast_to(np.floor(row / size).astype(np.int64), shape),
                         np.broadcast_to(np.floor(col / size).astype(np.int64), shape))
    return ctx.memo[key]


def _s5p(ctx: Context, band: str) -> np.ndarray:
    ix, iy = _cells(ctx, ctx.spec.cell_deg)
    n = world._hash01(ix, iy, ctx.day, world._seed(band) % 1000003)
    land, s = ctx.land, ctx.season
    urban = 1.0 - land["veg"]
    if band == "CO":
        return 0.02 + 0.02 * urban + 0.01 * n
    if band == "HCHO":
        return 5e-5 + 2e-4 * land["veg"] * s + 5e-5 * n
    if band == "NO2":
        return 1e-5 + 1.5e-4 * urban ** 2 * (1.2 - 0.4 * s) + 2e-5 * n
    if band == "O3":
        return 0.11 + 0.04 * (1.0 - s) + 0.01 * n
    if band == "SO2":
        return 0.002 * n ** 4
    if band == "CH4":
        return 1820.0 + 60.0 * land["relief"] + 20.0 * n
    if band.startswith("AER_AI"):
        return -1.0 + 2.5 * urban * n + (0.1 if band.endswith("388") else 0.0)
    cf = np.clip(world._hash01(ix // 4, iy // 4, ctx.day, 91) * 1.3 - 0.2, 0.0, 1.0)
    if band == "CLOUD_FRACTION":
        return cf
    if band == "CLOUD_OPTICAL_THICKNESS":
        return 50.0 * cf * (0.5 + n)
    top = 3000.0 + 7000.0 * n
    if band == "CLOUD_TOP_HEIGHT":
        return top
    if band == "CLOUD_BASE_HEIGHT":
        return 500.0 + 0.3 * top
    height = top if band == "CLOUD_TOP_PRESSURE" else 500.0 + 0.3 * top
    return 101325.0 * np.exp(-height / 8000.0)  # PASCALS


def s5p_qa(ctx: Context) -> np.ndarray:
    """qa_value (0-100) per ground pixel: about a quarter of the pixels are below 50."""
    if "qa" not in ctx.memo:
        ix, iy = _cells(ctx, ctx.spec.cell_deg)
        ctx.memo["qa"] = np.floor(100.0 * np.sqrt(world._hash01(ix, iy, ctx.day, 77)))
    return ctx.memo["qa"]


def _landsat_aux(ctx: Context, band: str) -> np.ndarray:
    land, cloudy = ctx.land, ctx.cloudy
    zero = np.zeros_like(land["veg"], dtype=np.float64)
    table = {
        "QA_RADSAT": zero,
        "SR_QA_AEROSOL": np.where(land["water"], 4.0, 1.0) + zero,
        "ST_QA": np.round(1.0 + 2.0 * land["relief"] + np.where(cloudy, 3.0, 0.0), 2),
        "ST_TRAD": np.round(7.5 + 2.5 * ctx.season + 0.5 * land["relief"], 3),
        "ST_URAD": np.round(1.0 + 2.0 * ctx.season * (0.5 + 0.5 * land["veg"]), 3),
        "ST_DRAD": np.round(2.0 + 3.0 * ctx.season * (0.5 + 0.5 * land["veg"]), 3),
        "ST_ATRAN": np.round(0.9 - 0.25 * ctx.season * land["veg"], 4),
        "ST_EMIS": np.round(np.where(land["water"], 0.99, 0.95 + 0.03 * land["veg"]), 4),
        "ST_EMSD": np.round(0.005 + 0.01 * (1.0 - land["veg"]), 4),
        "ST_CDIST": np.where(cloudy, 0.0, np.round(5.0 + 20.0 * (ctx.u if ctx.u is not None else 0.5), 2)),
        "SR_ATMOS_OPACITY": np.round(0.1 + 0.2 * land["relief"], 3),
        "SR_CLOUD_QA": np.where(cloudy, 2.0, 0.0),
    }
    return table[band]


def _olci_meta(ctx: Context, band: str) -> np.ndarray:
    land, s = ctx.land, ctx.season
    if band == "HUMIDITY":
        return np.round(40.0 + 45.0 * land["veg"] * (0.6 + 0.4 * s), 2)
    if band == "SEA_LEVEL_PRESSURE":
        return np.round(1000.0 + 30.0 * world._wave(ctx.lon * 0.1 + ctx.day * 0.13), 2)
    if band == "TOTAL_COLUMN_OZONE":
        return np.round(0.0065 + 0.0015 * (1.0 - s) + 0.0005 * land["relief"], 6)
    if band == "TOTAL_COLUMN_WATER_VAPOUR":
        return np.round(5.0 + 35.0 * s * land["veg"], 3)
    return np.where(land["water"], 0.0, OLCI_LAND_FLAG)  # QUALITY_FLAGS


def _s1(ctx: Context, band: str, value: np.ndarray | None) -> np.ndarray:
    """VV/VH come from `world` (GAMMA0_ELLIPSOID); HH/HV, CARD4L bands and other coefficients here."""
    relief = ctx.land["relief"]
    incidence = 30.0 + 7.5 * (world._wave(ctx.lon * 0.37) + 1.0)  # across the swath, degrees
    if band == "localIncidenceAngle":
        return np.round(incidence + 20.0 * (relief - 0.5), 3)
    area = 1.0 + 0.6 * (relief - 0.5)
    if band == "scatteringArea":
        return np.round(area, 4)
    if band == "shadowMask":
        return np.where(relief > 0.95, 1.0, 0.0)
    if band in ("HH", "HV"):
        base = world.band_value("sentinel-1-grd", "VV" if band == "HH" else "VH", ctx.date, ctx.lon, ctx.lat)
        value = base * 1.1
    coeff = ctx.options.get("backCoeff", "GAMMA0_ELLIPSOID")
    theta = np.radians(incidence)
    if coeff == "SIGMA0_ELLIPSOID":
        return value * np.cos(theta)
    if coeff == "BETA0":
        return value * np.cos(theta) / np.sin(theta)
    if coeff == "GAMMA0_TERRAIN":
        return value / area
    return value


def _dem(ctx: Context) -> np.ndarray:
    instance = ctx.options.get("demInstance", "MAPZEN")
    lon, lat = ctx.lon, ctx.lat
    if instance == "COPERNICUS_90":  # 3 arc-second posts
        step = 1.0 / 1200.0
        lon, lat = (np.floor(lon / step) + 0.5) * step, (np.floor(lat / step) + 0.5) * step
    land = world._landscape(lon, lat) if instance == "COPERNICUS_90" else ctx.land
    h = np.round(np.where(land["water"], 0.0, 3000.0 * land["relief"] ** 2), 1)
    if ctx.options.get("egm"):
        h = np.round(h + 30.0 * world._wave(ctx.lon / 90.0) * world._wave(ctx.lat / 60.0), 1)
    return h


def value(ctx: Context, band: str, value_so_far: np.ndarray | None) -> np.ndarray | None:
    """The value of `band` in its default unit, or None when `world`'s own table has it
    (`value_so_far` is that value for bands this module adjusts)."""
    cid = ctx.spec.id
    if cid in S2_ALL:
        return None
    if cid.startswith("byoc-"):
        return byoc.value(ctx.spec, band, ctx.land, ctx.season)
    if cid == "sentinel-1-grd":
        if band in ("VV", "VH") and value_so_far is None:
            return None
        return _s1(ctx, band, value_so_far)
    if cid == "dem":
        return _dem(ctx)
    if cid == "sentinel-5p-l2":
        return _s5p(ctx, band)
    if band in _ANGLE_EQ and cid != "sentinel-3-olci":
        return world._angle(_ANGLE_EQ[band], ctx.date, ctx.lon, ctx.lat)
    if cid == "sentinel-3-olci":
        if band in _OLCI_EQ:
            return _reflectance(ctx, _OLCI_EQ[band])
        if band in _ANGLE_EQ:
            v = world._angle(_ANGLE_EQ[band], ctx.date, ctx.lon, ctx.lat)
            return np.where(v > 180.0, v - 360.0, v) if band in ("VAA", "SAA") else v
        return _olci_meta(ctx, band)
    thermal = ctx.spec.band(band).default_unit in ("BRIGHTNESS_TEMPERATURE", "KELVIN") and band != "ST_QA"
    if thermal and cid != "landsat-ot-l2":
        return _temperature(ctx, band)
    eq = _OPTICAL_EQ.get(cid, {})
    if band in eq:
        return _reflectance(ctx, eq[band])
    if band == "QA":  # HLS Fmask bits: 1 cloud, 5 water
        return np.where(ctx.cloudy, 2.0, np.where(ctx.land["water"], 32.0, 0.0))
    if band == "BQA" or (cid == "landsat-ot-l2" and band in ("B10",) + tuple(f"B0{i}" for i in range(1, 8))):
        return None
    if band in ("QA_RADSAT", "SR_QA_AEROSOL", "SR_CLOUD_QA", "SR_ATMOS_OPACITY") or band.startswith("ST_"):
        return _landsat_aux(ctx, band)
    return None


def valid(ctx: Context, band: str | None) -> np.ndarray | None:
    """Where the product has data (None: everywhere): S5P pixels whose qa_value reaches `minQa`."""
    if ctx.spec.id.startswith("byoc-"):
        return byoc.valid(ctx.spec, ctx.land, ctx.lon, ctx.lat)
    if ctx.spec.id != "sentinel-5p-l2":
        return None
    min_qa = ctx.options.get("minQa", S5P_DEFAULT_MIN_QA.get(band or "", 50))
    return s5p_qa(ctx) >= float(min_qa)


def scene_selected(collection: str, date: datetime, options: dict) -> bool:
    """Scene filters that pick acquisitions: Landsat `tiers`, HLS `constellation`."""
    tiers = options.get("tiers")
    if tiers is not None and tiers != "ALL_TIERS" and collection.startswith("landsat"):
        return landsat_tier(collection, date) == "TIER_1"
    constellation = options.get("constellation")
    if constellation is not None and collection == "hls":
        return hls_constellation(date) == constellation
    return True


def landsat_tier(collection: str, date: datetime) -> str:
    """Scenes too cloudy for precise geolocation are Tier 2."""
    return "TIER_2" if world.scene_cloud_cover(collection, date) > 85.0 else "TIER_1"


def hls_constellation(date: datetime) -> str:
    """HLS passes alternate between Landsat and Sentinel-2 once Sentinel-2 data exist (2015-11-28)."""
    if date < HLS_SENTINEL_START:
        return "LANDSAT"
    return "LANDSAT" if (world._day_number(date) // 2) % 2 == 0 else "SENTINEL"
