"""What the emulator serves: every Sentinel Hub collection type, its bands (names and units as in
sentinelhub-py's `data_collections_bands.py`, checked by tests/emulator/test_specs.py), sample
source types, native resolution, acquisition schedule and availability period (§6 of the reference).

Pure data; the values themselves come from `world` (shared surface) and `models` (per collection)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

UTC = timezone.utc


@dataclass(frozen=True)
class BandSpec:
    name: str
    default_unit: str
    units: dict[str, float] = field(default_factory=dict)  # unit -> factor applied to the default unit value
    #: how Sentinel Hub stores the band (UINT8/UINT15/UINT16/UINT32/FLOAT32); informs plausible quantisation
    source: str = "FLOAT32"


@dataclass(frozen=True)
class CollectionSpec:
    id: str
    bands: tuple[BandSpec, ...]
    epoch: datetime | None  # first acquisition; None = timeless (DEM)
    revisit_days: int
    nodata: float  # value of band samples where dataMask == 0
    has_cloud_cover: bool
    mosaicking: tuple[str, ...]
    platform: str = ""
    constellation: str = ""
    instruments: tuple[str, ...] = ()
    gsd: float = 10.0
    #: first descending pass of a collection that has both orbit directions (the `epoch` passes are
    #: then the ascending ones), same revisit; None: one schedule without an orbit direction
    descending_epoch: datetime | None = None
    #: last acquisition of an ended mission (inclusive); None: still acquiring
    end: datetime | None = None
    #: side of the native pixel in degrees for coarse products (values are constant over it); 0: as fine as asked
    cell_deg: float = 0.0

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bands)

    def band(self, name: str) -> BandSpec:
        for b in self.bands:
            if b.name == name:
                return b
        raise KeyError(name)


def _t(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _refl(name: str, source: str = "UINT15") -> BandSpec:
    return BandSpec(name, "REFLECTANCE", {"REFLECTANCE": 1.0, "DN": 10000.0}, source)


def _unit(name: str, unit: str, source: str = "FLOAT32", **more: float) -> BandSpec:
    return BandSpec(name, unit, {unit: 1.0, **more}, source)


DATAMASK = BandSpec("dataMask", "DN", {"DN": 1.0}, "UINT8")
S2_OPTICAL = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
S2_ALL = ("sentinel-2-l1c", "sentinel-2-l2a")
S2_ANGLES = ("sunAzimuthAngles", "sunZenithAngles", "viewAzimuthMean", "viewZenithMean")
#: Sentinel-2's angle bands and SH main's s2cloudless bands (CLP probability 0-255, CLM mask 0/1), L1C and L2A
_S2_METADATA_BANDS = tuple(_unit(a, "DEGREES") for a in S2_ANGLES) + (
    _unit("CLP", "DN", "UINT8"), _unit("CLM", "DN", "UINT8"))
LANDSAT_ANGLES = tuple(_unit(a, "DEGREES") for a in ("VAA", "VZA", "SAA", "SZA"))
_LANDSAT_QA = (_unit("BQA", "DN", "UINT16"), _unit("QA_RADSAT", "DN", "UINT16"))
_LANDSAT_ST_AUX = (_unit("ST_TRAD", "RADIANCE"), _unit("ST_URAD", "RADIANCE"), _unit("ST_DRAD", "RADIANCE"),
                   _unit("ST_ATRAN", "FRACTION"), _unit("ST_EMIS", "FRACTION"), _unit("ST_EMSD", "FRACTION"),
                   _unit("ST_CDIST", "KILOMETERS"))
_LANDSAT_L2_AUX = _LANDSAT_QA + _LANDSAT_ST_AUX + (_unit("SR_ATMOS_OPACITY", "FRACTION"),
                                                   _unit("SR_CLOUD_QA", "DN", "UINT8"), _unit("ST_QA", "KELVIN"))
_KELVIN = {"KELVIN": 1.0, "SURFACE_TEMPERATURE": 1.0}
OLCI_BANDS = tuple(f"B{i:02d}" for i in range(1, 22))
#: OLCI radiance ≈ reflectance · F0 / π at a mid-latitude sun (mW/m²/sr/nm)
OLCI_RADIANCE = 400.0
SLSTR_BANDS = ("S1", "S2", "S3", "S4", "S5", "S6")
SLSTR_THERMAL = ("S7", "S8", "S9", "F1", "F2")
S5P_BANDS = {"CO": "MOL_M2", "HCHO": "MOL_M2", "NO2": "MOL_M2", "O3": "MOL_M2", "SO2": "MOL_M2", "CH4": "PPB",
             "AER_AI_340_380": "INDEX", "AER_AI_354_388": "INDEX", "CLOUD_BASE_PRESSURE": "PASCALS",
             "CLOUD_TOP_PRESSURE": "PASCALS", "CLOUD_BASE_HEIGHT": "METERS", "CLOUD_TOP_HEIGHT": "METERS",
             "CLOUD_OPTICAL_THICKNESS": "OPTICAL_DEPTH", "CLOUD_FRACTION": "FRACTION"}
HLS_OPTICAL = ("CoastalAerosol", "Blue", "Green", "Red", "RedEdge1", "RedEdge2", "RedEdge3", "NIR_Broad",
               "NIR_Narrow", "SWIR1", "SWIR2", "WaterVapor", "Cirrus")
#: a cell of about 300 m, 500 m and 5.5 km in degrees (native pixels of S3 OLCI, SLSTR/MODIS and S5P)
_M300, _M500, _KM5 = 0.0027, 0.0045, 0.05


def _landsat(cid: str, bands: tuple, epoch: datetime, end: datetime | None, revisit: int, platform: str,
             instruments: tuple[str, ...], gsd: float = 30) -> CollectionSpec:
    return CollectionSpec(
        id=cid, bands=bands + (DATAMASK,), epoch=epoch, revisit_days=revisit, nodata=float("nan"),
        has_cloud_cover=True, mosaicking=("SIMPLE", "ORBIT", "TILE"), platform=platform, constellation="landsat",
        instruments=instruments, gsd=gsd, end=end)


_TM_EPOCH, _TM_END = _t(1982, 8, 22, 9, 40), _t(2012, 5, 5, 9, 40)
_ETM_EPOCH, _ETM_END = _t(1999, 5, 28, 10, 15), _t(2024, 1, 19, 10, 15)
_OT_EPOCH = _t(2013, 4, 11, 10, 5)

COLLECTIONS: dict[str, CollectionSpec] = {
    "sentinel-2-l1c": CollectionSpec(
        id="sentinel-2-l1c",
        bands=tuple(_refl(b) for b in S2_OPTICAL) + _S2_METADATA_BANDS + (DATAMASK,),
        epoch=_t(2015, 7, 4, 10, 30), revisit_days=5, nodata=0.0, has_cloud_cover=True,
        mosaicking=("SIMPLE", "ORBIT", "TILE"), platform="sentinel-2a", constellation="sentinel-2",
        instruments=("msi",), gsd=10,
    ),
    "sentinel-2-l2a": CollectionSpec(
        id="sentinel-2-l2a",
        bands=tuple(_refl(b) for b in S2_OPTICAL if b != "B10") + (
            _unit("SCL", "DN", "UINT8"),
            BandSpec("CLD", "PERCENT", {"PERCENT": 1.0, "DN": 1.0}, "UINT8"),
            BandSpec("SNW", "PERCENT", {"PERCENT": 1.0, "DN": 1.0}, "UINT8"),
            BandSpec("AOT", "OPTICAL_DEPTH", {"OPTICAL_DEPTH": 1.0, "DN": 1000.0}, "UINT16"),
            *_S2_METADATA_BANDS,
            DATAMASK,
        ),
        epoch=_t(2017, 1, 3, 10, 30), revisit_days=5, nodata=0.0, has_cloud_cover=True,
        mosaicking=("SIMPLE", "ORBIT", "TILE"), platform="sentinel-2a", constellation="sentinel-2",
        instruments=("msi",), gsd=10,
    ),
    "sentinel-1-grd": CollectionSpec(
        id="sentinel-1-grd",
        bands=tuple(_unit(p, "LINEAR_POWER", "UINT16") for p in ("VV", "VH", "HV", "HH")) + (
            _unit("localIncidenceAngle", "DN"), _unit("scatteringArea", "DN"), _unit("shadowMask", "DN", "UINT8"),
            DATAMASK),
        epoch=_t(2014, 10, 3, 17, 45), revisit_days=6, nodata=0.0, has_cloud_cover=False,
        mosaicking=("SIMPLE", "ORBIT"), platform="sentinel-1a", constellation="sentinel-1",
        instruments=("c-sar",), gsd=10,
        # evening passes are ascending, morning passes descending (as over Europe)
        descending_epoch=_t(2014, 10, 6, 5, 20),
    ),
    "sentinel-3-olci": CollectionSpec(
        id="sentinel-3-olci",
        bands=tuple(BandSpec(b, "REFLECTANCE", {"REFLECTANCE": 1.0, "RADIANCE": OLCI_RADIANCE}, "UINT16")
                    for b in OLCI_BANDS) + (
            BandSpec("VAA", "DEGREES", {"DEGREES": 1.0}, "INT16"), BandSpec("VZA", "DEGREES", {"DEGREES": 1.0}, "UINT16"),
            BandSpec("SAA", "DEGREES", {"DEGREES": 1.0}, "INT16"), BandSpec("SZA", "DEGREES", {"DEGREES": 1.0}, "UINT16"),
            _unit("HUMIDITY", "PERCENT"), _unit("SEA_LEVEL_PRESSURE", "HECTOPASCALS"),
            _unit("TOTAL_COLUMN_OZONE", "KG_M2"), _unit("TOTAL_COLUMN_WATER_VAPOUR", "KG_M2"),
            _unit("QUALITY_FLAGS", "DN", "UINT32"), DATAMASK),
        epoch=_t(2016, 4, 25, 10, 0), revisit_days=1, nodata=0.0, has_cloud_cover=False,
        mosaicking=("SIMPLE", "ORBIT", "TILE"), platform="sentinel-3a", constellation="sentinel-3",
        instruments=("olci",), gsd=300, cell_deg=_M300,
    ),
    "sentinel-3-slstr": CollectionSpec(
        id="sentinel-3-slstr",
        bands=tuple(BandSpec(b, "REFLECTANCE", {"REFLECTANCE": 1.0, "RADIANCE": OLCI_RADIANCE}, "UINT16")
                    for b in SLSTR_BANDS)
        + tuple(_unit(b, "BRIGHTNESS_TEMPERATURE", "UINT16") for b in SLSTR_THERMAL) + (DATAMASK,),
        # night (ascending) passes at 21:40, day (descending) passes at 10:10
        epoch=_t(2016, 4, 19, 21, 40), revisit_days=1, nodata=0.0, has_cloud_cover=True,
        mosaicking=("SIMPLE", "ORBIT", "TILE"), platform="sentinel-3a", constellation="sentinel-3",
        instruments=("slstr",), gsd=500, descending_epoch=_t(2016, 4, 20, 10, 10), cell_deg=_M500,
    ),
    "sentinel-5p-l2": CollectionSpec(
        id="sentinel-5p-l2",
        # sentinelhub-py labels the columns DN; the service's unit is MOL_M2 (both accepted, same values)
        bands=tuple(BandSpec(b, u, {u: 1.0, "DN": 1.0}) for b, u in S5P_BANDS.items()) + (DATAMASK,),
        epoch=_t(2018, 4, 30, 13, 30), revisit_days=1, nodata=0.0, has_cloud_cover=False,
        mosaicking=("SIMPLE", "ORBIT"), platform="sentinel-5p", constellation="sentinel-5p",
        instruments=("tropomi",), gsd=5500, cell_deg=_KM5,
    ),
    "landsat-mss-l1": _landsat(
        "landsat-mss-l1", tuple(_refl(f"B0{i}", "UINT16") for i in range(1, 5)) + _LANDSAT_QA,
        _t(1972, 7, 25, 9, 50), _t(2013, 1, 7, 9, 50), 16, "landsat-5", ("mss",), gsd=60),
    "landsat-tm-l1": _landsat(
        "landsat-tm-l1", tuple(_refl(f"B0{i}", "UINT16") for i in (1, 2, 3, 4, 5)) + (
            _unit("B06", "BRIGHTNESS_TEMPERATURE", "UINT16"), _refl("B07", "UINT16")) + _LANDSAT_QA + LANDSAT_ANGLES,
        _TM_EPOCH, _TM_END, 16, "landsat-5", ("tm",)),
    "landsat-tm-l2": _landsat(
        "landsat-tm-l2", tuple(_refl(f"B0{i}", "UINT16") for i in (1, 2, 3, 4, 5)) + (
            BandSpec("B06", "KELVIN", _KELVIN, "UINT16"), _refl("B07", "UINT16")) + _LANDSAT_L2_AUX,
        _TM_EPOCH, _TM_END, 16, "landsat-5", ("tm",)),
    "landsat-etm-l1": _landsat(
        "landsat-etm-l1", tuple(_refl(f"B0{i}", "UINT16") for i in (1, 2, 3, 4, 5)) + (
            _unit("B06_VCID_1", "BRIGHTNESS_TEMPERATURE", "UINT16"),
            _unit("B06_VCID_2", "BRIGHTNESS_TEMPERATURE", "UINT16"), _refl("B07", "UINT16"), _refl("B08", "UINT16"),
        ) + _LANDSAT_QA + LANDSAT_ANGLES,
        _ETM_EPOCH, _ETM_END, 16, "landsat-7", ("etm+",)),
    "landsat-etm-l2": _landsat(
        "landsat-etm-l2", tuple(_refl(f"B0{i}", "UINT16") for i in (1, 2, 3, 4, 5)) + (
            BandSpec("B06", "KELVIN", _KELVIN, "UINT16"), _refl("B07", "UINT16")) + _LANDSAT_L2_AUX,
        _ETM_EPOCH, _ETM_END, 16, "landsat-7", ("etm+",)),
    # Landsat 8 and 9: 16 days each, 8 days apart; before Landsat 9 (2021-10) the 8-day cadence is a simplification
    "landsat-ot-l1": _landsat(
        "landsat-ot-l1", tuple(_refl(f"B0{i}", "UINT16") for i in range(1, 10)) + (
            _unit("B10", "BRIGHTNESS_TEMPERATURE", "UINT16"), _unit("B11", "BRIGHTNESS_TEMPERATURE", "UINT16"),
        ) + _LANDSAT_QA + LANDSAT_ANGLES,
        _OT_EPOCH, None, 8, "landsat-8", ("oli", "tirs")),
    "landsat-ot-l2": _landsat(
        "landsat-ot-l2", tuple(_refl(f"B0{i}") for i in range(1, 8)) + (
            BandSpec("B10", "KELVIN", _KELVIN, "UINT16"), *_LANDSAT_QA, _unit("SR_QA_AEROSOL", "DN", "UINT8"),
            _unit("ST_QA", "KELVIN"), *_LANDSAT_ST_AUX),
        _OT_EPOCH, None, 8, "landsat-8", ("oli", "tirs")),
    "modis": CollectionSpec(
        id="modis", bands=tuple(_refl(f"B0{i}", "UINT16") for i in range(1, 8)) + (DATAMASK,),
        epoch=_t(2000, 2, 24, 12, 0), end=_t(2023, 2, 10, 12, 0), revisit_days=1, nodata=0.0,
        has_cloud_cover=False, mosaicking=("SIMPLE", "ORBIT", "TILE"), platform="terra",
        constellation="modis", instruments=("modis",), gsd=500, cell_deg=_M500,
    ),
    "hls": CollectionSpec(
        id="hls",
        bands=tuple(_refl(b, "INT16") for b in HLS_OPTICAL) + tuple(
            BandSpec(b, "BRIGHTNESS_TEMPERATURE", {"BRIGHTNESS_TEMPERATURE": 1.0, "DN": 100.0}, "INT16")
            for b in ("ThermalInfrared1", "ThermalInfrared2")) + (_unit("QA", "DN", "UINT8"),) + tuple(
            BandSpec(a, "DEGREES", {"DEGREES": 1.0, "DN": 100.0}, "UINT16") for a in ("VAA", "VZA", "SAA", "SZA"))
        + (DATAMASK,),
        # one pass every 2 days; which constellation made it: models.hls_constellation
        epoch=_t(2013, 4, 11, 10, 20), revisit_days=2, nodata=0.0, has_cloud_cover=True,
        mosaicking=("SIMPLE", "ORBIT", "TILE"), platform="landsat-8", constellation="hls",
        instruments=("oli", "msi"), gsd=30,
    ),
    "dem": CollectionSpec(
        id="dem", bands=(_unit("DEM", "METERS"), DATAMASK), epoch=None, revisit_days=0,
        nodata=0.0, has_cloud_cover=False, mosaicking=("SIMPLE",), gsd=30,
    ),
}

# Legacy short names accepted by the Process API.
ALIASES = {"S2L1C": "sentinel-2-l1c", "S2L2A": "sentinel-2-l2a", "S1GRD": "sentinel-1-grd",
           "S3OLCI": "sentinel-3-olci", "S3SLSTR": "sentinel-3-slstr", "S5PL2": "sentinel-5p-l2",
           "LMSSL1": "landsat-mss-l1", "LTML1": "landsat-tm-l1", "LTML2": "landsat-tm-l2",
           "LETML1": "landsat-etm-l1", "LETML2": "landsat-etm-l2", "LOTL1": "landsat-ot-l1",
           "LOTL2": "landsat-ot-l2", "MODIS": "modis", "HLS": "hls", "DEM": "dem"}
