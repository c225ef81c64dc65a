"""Builds the STAC collection documents in `data/` (run: python -m compiler_svc.collections.build_catalogue)
as pystac Collections (`backend_common.stac.collection`).

What Sentinel Hub itself defines comes from sentinelhub-py's maintained definitions, a build-time
dependency only (the service reads the generated JSON): per collection the `DataCollection`
definition gives the Process API type (`api_id`), the deployment (`service_url`), whether it is
timeless, has cloud cover or a DEM instance, and its bands and meta bands
(`sentinelhub.data_collections_bands`: names and order, Sentinel Hub units, the sample type of each
unit). sentinelhub-py carries no wavelengths, resolutions or availability dates, so those come from
the tables below: the ESA/USGS/NASA sensor specifications as summarised on Sentinel Hub's
collection pages (docs.sentinel-hub.com/api/latest/data/) and ../shared/docs/sentinel-hub-api.md
§6 (availability from its §6.1 summary; a month-only date there becomes the first resp. last day
of that month).
"""

from __future__ import annotations

import json
from pathlib import Path

from backend_common import stac

DATA = Path(__file__).with_name("data")

#: sentinelhub-py's service URL -> the deployment names the executor knows (executor_svc/sentinelhub/config.py)
DEPLOYMENT_OF_URL = {
    "https://services.sentinel-hub.com": "sh-main",
    "https://services-uswest2.sentinel-hub.com": "sh-uswest",
    "https://creodias.sentinel-hub.com": "sh-creodias",
}

#: openEO ids of the old backend that scripts still use -> the id listed here (one document each)
ALIASES = {
    "SENTINEL2_L1C_SENTINELHUB": "SENTINEL2_L1C",
    "S2L1C": "SENTINEL2_L1C",
    "SENTINEL2_L2A_SENTINELHUB": "SENTINEL2_L2A",
}

# Band tables: name -> (common_name or None, center wavelength µm, full width half max µm, gsd m).
# Sentinel-2 MSI: ESA Sentinel-2 User Handbook (S2A centres), Sentinel Hub S2 L1C/L2A pages.
_S2 = {
    "B01": ("coastal", 0.443, 0.021, 60), "B02": ("blue", 0.490, 0.066, 10), "B03": ("green", 0.560, 0.036, 10),
    "B04": ("red", 0.665, 0.031, 10), "B05": ("rededge", 0.705, 0.015, 20), "B06": ("rededge", 0.740, 0.015, 20),
    "B07": ("rededge", 0.783, 0.020, 20), "B08": ("nir", 0.842, 0.106, 10), "B8A": ("nir08", 0.865, 0.021, 20),
    "B09": ("nir09", 0.945, 0.020, 60), "B10": ("cirrus", 1.375, 0.031, 60), "B11": ("swir16", 1.610, 0.091, 20),
    "B12": ("swir22", 2.190, 0.175, 20),
}
# auxiliary layers (Sentinel Hub S2 pages: AOT 10 m, SCL/SNW/CLD 20 m, s2cloudless 160 m, angles 5 km)
_S2_AUX_GSD = {"AOT": 10, "SCL": 20, "SNW": 20, "CLD": 20, "CLP": 160, "CLM": 160, "sunAzimuthAngles": 5000,
               "sunZenithAngles": 5000, "viewAzimuthMean": 5000, "viewZenithMean": 5000}
# Sentinel-3 OLCI (ESA OLCI user guide; Sentinel Hub S3 OLCI page): 21 bands at 300 m, tie-point
# meteo/angle layers on a ~19 km grid
_OLCI_CENTRES_NM = [400, 412.5, 442.5, 490, 510, 560, 620, 665, 673.75, 681.25, 708.75, 753.75, 761.25, 764.375,
                    767.5, 778.75, 865, 885, 900, 940, 1020]
_OLCI_COMMON = {"B03": "coastal", "B04": "blue", "B06": "green", "B08": "red", "B11": "rededge", "B17": "nir"}
_OLCI = {f"B{i + 1:02d}": (_OLCI_COMMON.get(f"B{i + 1:02d}"), round(nm / 1000, 6), None, 300)
         for i, nm in enumerate(_OLCI_CENTRES_NM)}
_OLCI_AUX_GSD = {"QUALITY_FLAGS": 300}
# Sentinel-3 SLSTR (ESA SLSTR user guide; Sentinel Hub S3 SLSTR page): S1-S6 500 m, S7-S9/F1/F2 1 km
_SLSTR = {
    "S1": ("green", 0.55427, 0.01926, 500), "S2": ("red", 0.65947, 0.01925, 500), "S3": ("nir", 0.868, 0.0207, 500),
    "S4": ("cirrus", 1.3748, 0.0208, 500), "S5": ("swir16", 1.6134, 0.06068, 500), "S6": ("swir22", 2.2557, 0.05015, 500),
    "S7": (None, 3.742, 0.398, 1000), "S8": ("lwir11", 10.854, 0.776, 1000), "S9": ("lwir12", 12.0225, 0.905, 1000),
    "F1": (None, 3.742, 0.398, 1000), "F2": ("lwir11", 10.854, 0.776, 1000),
}
# Landsat 1-5 MSS (USGS Landsat MSS band designations; 60 m as delivered by Sentinel Hub)
_MSS = {"B01": ("green", 0.55, 0.1, 60), "B02": ("red", 0.65, 0.1, 60), "B03": ("rededge", 0.75, 0.1, 60),
        "B04": ("nir", 0.95, 0.3, 60)}
# Landsat 4-5 TM (USGS): thermal B06 acquired at 120 m, delivered resampled to 30 m
_TM = {"B01": ("blue", 0.485, 0.07, 30), "B02": ("green", 0.56, 0.08, 30), "B03": ("red", 0.66, 0.06, 30),
       "B04": ("nir", 0.83, 0.14, 30), "B05": ("swir16", 1.65, 0.2, 30), "B06": ("lwir", 11.45, 2.1, 30),
       "B07": ("swir22", 2.215, 0.27, 30)}
# Landsat 7 ETM+ (USGS): thermal acquired at 60 m (two gain settings in L1), panchromatic B08 15 m
_ETM = {"B01": ("blue", 0.485, 0.07, 30), "B02": ("green", 0.56, 0.08, 30), "B03": ("red", 0.66, 0.06, 30),
        "B04": ("nir", 0.835, 0.13, 30), "B05": ("swir16", 1.65, 0.2, 30), "B06": ("lwir", 11.45, 2.1, 30),
        "B06_VCID_1": ("lwir", 11.45, 2.1, 30), "B06_VCID_2": ("lwir", 11.45, 2.1, 30),
        "B07": ("swir22", 2.22, 0.26, 30), "B08": ("pan", 0.71, 0.38, 15)}
# Landsat 8-9 OLI/TIRS (USGS): thermal acquired at 100 m, panchromatic B08 15 m
_OT = {
    "B01": ("coastal", 0.443, 0.016, 30), "B02": ("blue", 0.482, 0.060, 30), "B03": ("green", 0.562, 0.057, 30),
    "B04": ("red", 0.655, 0.037, 30), "B05": ("nir", 0.865, 0.028, 30), "B06": ("swir16", 1.609, 0.085, 30),
    "B07": ("swir22", 2.201, 0.187, 30), "B08": ("pan", 0.59, 0.172, 15), "B09": ("cirrus", 1.373, 0.021, 30),
    "B10": ("lwir11", 10.895, 0.590, 30), "B11": ("lwir12", 12.005, 1.010, 30),
}
# MODIS MCD43A4 NBAR (NASA LP DAAC; Sentinel Hub MODIS page): 500 m
_MODIS = {"B01": ("red", 0.645, 0.05, 500), "B02": ("nir", 0.8585, 0.035, 500), "B03": ("blue", 0.469, 0.02, 500),
          "B04": ("green", 0.555, 0.02, 500), "B05": (None, 1.24, 0.02, 500), "B06": ("swir16", 1.64, 0.024, 500),
          "B07": ("swir22", 2.13, 0.05, 500)}
# NASA HLS v2 (HLS user guide; Sentinel Hub HLS page): everything on the 30 m MGRS grid
_HLS = {
    "CoastalAerosol": ("coastal", 0.443, 0.02, 30), "Blue": ("blue", 0.49, 0.065, 30), "Green": ("green", 0.56, 0.035, 30),
    "Red": ("red", 0.665, 0.03, 30), "RedEdge1": ("rededge", 0.705, 0.015, 30), "RedEdge2": ("rededge", 0.74, 0.015, 30),
    "RedEdge3": ("rededge", 0.783, 0.02, 30), "NIR_Broad": ("nir", 0.842, 0.115, 30),
    "NIR_Narrow": ("nir08", 0.865, 0.02, 30), "SWIR1": ("swir16", 1.61, 0.09, 30), "SWIR2": ("swir22", 2.19, 0.18, 30),
    "WaterVapor": ("nir09", 0.945, 0.02, 30), "Cirrus": ("cirrus", 1.375, 0.03, 30),
    "ThermalInfrared1": ("lwir11", 10.895, 0.59, 30), "ThermalInfrared2": ("lwir12", 12.005, 1.01, 30),
}

_ESA_LICENSE = ("proprietary", "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice")
_USGS_LICENSE = ("CC0-1.0", "https://www.usgs.gov/information-policies-and-instructions/crediting-usgs")
_NASA_LICENSE = ("CC0-1.0", "https://www.earthdata.nasa.gov/engage/open-data-services-software-policies/data-use-guidance")
_COP_DEM_LICENSE = ("proprietary", "https://spacedata.copernicus.eu/documents/20126/0/CSCDA_ESA_Mission-specific+Annex.pdf")
_MAPZEN_LICENSE = ("proprietary", "https://github.com/tilezen/joerd/blob/master/docs/attribution.md")
_ESA, _USGS, _NASA = "European Space Agency", "U.S. Geological Survey", "NASA"

_S1_PROCESSING = {"card4l": {
    # Sentinel Hub's CARD4L recipe for Sentinel-1 GRD (docs.sentinel-hub.com/api/latest/data/sentinel-1-grd/,
    # "CARD4L" section): terrain-flattened gamma0 on the Copernicus DEM, orthorectified, 10 m IW
    "processing": {"backCoeff": "GAMMA0_TERRAIN", "orthorectify": True, "demInstance": "COPERNICUS",
                   "radiometricTerrainOversampling": 2, "speckleFilter": {"type": "NONE"}},
    "data_filter": {"acquisitionMode": "IW", "resolution": "HIGH"},
}}


def _spec(cid, dc, title, *, table=None, aux_gsd=None, default_gsd, start, end=None, bbox=(-180, -90, 180, 90),
          step=None, revisit_days=None, license, producer, platform, instruments, keywords, bands=None, meta=None,
          sar=False, extra=None):
    return {"id": cid, "dc": dc, "title": title, "table": table or {}, "aux_gsd": aux_gsd or {},
            "default_gsd": default_gsd, "start": start, "end": end, "bbox": list(bbox), "step": step,
            "revisit_days": revisit_days, "license": license, "producer": producer, "platform": platform,
            "instruments": instruments, "keywords": keywords, "bands": bands, "meta": meta, "sar": sar,
            "extra": extra or {}}


_LANDSAT_BBOX = (-180, -82, 180, 82)

_SPECS = [
    _spec("SENTINEL2_L1C", "SENTINEL2_L1C", "Sentinel-2 L1C top-of-atmosphere reflectance", table=_S2,
          aux_gsd=_S2_AUX_GSD, default_gsd=10, start="2015-06-27", bbox=(-180, -56, 180, 84), step="P5D",
          revisit_days=5, license=_ESA_LICENSE, producer=_ESA, platform=["sentinel-2a", "sentinel-2b"],
          instruments=["msi"], keywords=["sentinel-2", "msi", "l1c", "optical"]),
    _spec("SENTINEL2_L2A", "SENTINEL2_L2A", "Sentinel-2 L2A bottom-of-atmosphere reflectance", table=_S2,
          aux_gsd=_S2_AUX_GSD, default_gsd=10, start="2016-10-20", bbox=(-180, -56, 180, 84), step="P5D",
          revisit_days=5, license=_ESA_LICENSE, producer=_ESA, platform=["sentinel-2a", "sentinel-2b"],
          instruments=["msi"], keywords=["sentinel-2", "msi", "l2a", "optical", "sen2cor"]),
    _spec("SENTINEL1_GRD", "SENTINEL1", "Sentinel-1 GRD backscatter", default_gsd=10, start="2014-10-03",
          bbox=(-180, -85, 180, 85), step="P6D", revisit_days=6, license=_ESA_LICENSE, producer=_ESA,
          platform=["sentinel-1a", "sentinel-1b"], instruments=["c-sar"],
          keywords=["sentinel-1", "sar", "grd", "backscatter"],
          bands=["SENTINEL1_IW", "SENTINEL1_EW"], sar=True),
    _spec("SENTINEL1_CARD4L", "SENTINEL1", "Sentinel-1 CARD4L normalised radar backscatter (GRD, gamma0 terrain)",
          default_gsd=10, start="2014-10-03", bbox=(-180, -85, 180, 85), step="P6D", revisit_days=6,
          license=_ESA_LICENSE, producer=_ESA, platform=["sentinel-1a", "sentinel-1b"], instruments=["c-sar"],
          keywords=["sentinel-1", "sar", "grd", "card4l", "gamma0", "analysis ready"],
          bands=["SENTINEL1_IW", "SENTINEL1_EW"], sar=True, extra=_S1_PROCESSING["card4l"]),
    _spec("SENTINEL3_OLCI_L1B", "SENTINEL3_OLCI", "Sentinel-3 OLCI L1B top-of-atmosphere reflectance", table=_OLCI,
          aux_gsd=_OLCI_AUX_GSD, default_gsd=19000, start="2016-04-25", step="P1D", revisit_days=1,
          license=_ESA_LICENSE, producer=_ESA, platform=["sentinel-3a", "sentinel-3b"], instruments=["olci"],
          keywords=["sentinel-3", "olci", "l1b", "optical", "ocean colour"]),
    _spec("SENTINEL3_SLSTR", "SENTINEL3_SLSTR", "Sentinel-3 SLSTR L1B radiances and brightness temperatures",
          table=_SLSTR, default_gsd=1000, start="2016-04-19", step="P1D", revisit_days=1, license=_ESA_LICENSE,
          producer=_ESA, platform=["sentinel-3a", "sentinel-3b"], instruments=["slstr"],
          keywords=["sentinel-3", "slstr", "l1b", "thermal", "optical"]),
    _spec("SENTINEL_5P_L2", "SENTINEL5P", "Sentinel-5P TROPOMI L2 atmospheric products", default_gsd=5500,
          start="2018-04-30", step="P1D", revisit_days=1, license=_ESA_LICENSE, producer=_ESA,
          platform=["sentinel-5p"], instruments=["tropomi"],
          keywords=["sentinel-5p", "tropomi", "l2", "atmosphere", "no2", "co", "ch4", "o3", "so2", "hcho", "aerosol"]),
    _spec("LANDSAT1-5_MSS_L1", "LANDSAT_MSS_L1", "Landsat 1-5 MSS Collection 2 Level-1", table=_MSS, default_gsd=60,
          start="1972-07-01", end="2013-01-31", bbox=_LANDSAT_BBOX, step="P16D", revisit_days=16,
          license=_USGS_LICENSE, producer=_USGS,
          platform=["landsat-1", "landsat-2", "landsat-3", "landsat-4", "landsat-5"], instruments=["mss"],
          keywords=["landsat", "mss", "l1"]),
    _spec("LANDSAT4-5_TM_L1", "LANDSAT_TM_L1", "Landsat 4-5 TM Collection 2 Level-1", table=_TM, default_gsd=30,
          start="1982-08-22", end="2012-05-05", bbox=_LANDSAT_BBOX, step="P16D", revisit_days=16,
          license=_USGS_LICENSE, producer=_USGS, platform=["landsat-4", "landsat-5"], instruments=["tm"],
          keywords=["landsat", "tm", "l1"]),
    _spec("LANDSAT4-5_TM_L2", "LANDSAT_TM_L2", "Landsat 4-5 TM Collection 2 Level-2 surface reflectance and temperature",
          table=_TM, default_gsd=30, start="1982-08-22", end="2012-05-05", bbox=_LANDSAT_BBOX, step="P16D",
          revisit_days=16, license=_USGS_LICENSE, producer=_USGS, platform=["landsat-4", "landsat-5"],
          instruments=["tm"], keywords=["landsat", "tm", "l2", "surface reflectance"]),
    _spec("LANDSAT7_ETM_L1", "LANDSAT_ETM_L1", "Landsat 7 ETM+ Collection 2 Level-1", table=_ETM, default_gsd=30,
          start="1999-04-01", end="2024-01-31", bbox=_LANDSAT_BBOX, step="P16D", revisit_days=16,
          license=_USGS_LICENSE, producer=_USGS, platform=["landsat-7"], instruments=["etm+"],
          keywords=["landsat", "etm+", "l1"]),
    _spec("LANDSAT7_ETM_L2", "LANDSAT_ETM_L2", "Landsat 7 ETM+ Collection 2 Level-2 surface reflectance and temperature",
          table=_ETM, default_gsd=30, start="1999-04-01", end="2024-01-31", bbox=_LANDSAT_BBOX, step="P16D",
          revisit_days=16, license=_USGS_LICENSE, producer=_USGS, platform=["landsat-7"], instruments=["etm+"],
          keywords=["landsat", "etm+", "l2", "surface reflectance"]),
    _spec("LANDSAT8-9_L1", "LANDSAT_OT_L1", "Landsat 8-9 OLI/TIRS Collection 2 Level-1", table=_OT, default_gsd=30,
          start="2013-03-18", bbox=_LANDSAT_BBOX, step="P8D", revisit_days=8, license=_USGS_LICENSE,
          producer=_USGS, platform=["landsat-8", "landsat-9"], instruments=["oli", "tirs"],
          keywords=["landsat", "oli", "tirs", "l1"]),
    _spec("LANDSAT8-9_L2", "LANDSAT_OT_L2", "Landsat 8-9 Collection 2 Level-2 surface reflectance and temperature",
          table=_OT, default_gsd=30, start="2013-02-01", bbox=_LANDSAT_BBOX, step="P8D", revisit_days=8,
          license=_USGS_LICENSE, producer=_USGS, platform=["landsat-8", "landsat-9"], instruments=["oli", "tirs"],
          keywords=["landsat", "oli", "tirs", "l2"]),
    _spec("MODIS", "MODIS", "MODIS MCD43A4 nadir BRDF-adjusted reflectance (daily, Terra + Aqua)", table=_MODIS,
          default_gsd=500, start="2000-02-24", end="2023-02-10", step="P1D", revisit_days=1, license=_NASA_LICENSE,
          producer="NASA LP DAAC", platform=["terra", "aqua"], instruments=["modis"],
          keywords=["modis", "mcd43a4", "nbar", "reflectance"]),
    _spec("NASA_HARMONIZED_LANDSAT_SENTINEL", "HARMONIZED_LANDSAT_SENTINEL",
          "NASA Harmonized Landsat Sentinel-2 (HLS) surface reflectance", table=_HLS, default_gsd=30,
          start="2013-04-01", bbox=(-180, -60, 180, 84), step="P2D", revisit_days=2, license=_NASA_LICENSE,
          producer=_NASA, platform=["landsat-8", "landsat-9", "sentinel-2a", "sentinel-2b"],
          instruments=["oli", "msi"], keywords=["hls", "landsat", "sentinel-2", "harmonized", "surface reflectance"]),
    _spec("COPERNICUS_30", "DEM_COPERNICUS_30", "Copernicus DEM GLO-30", default_gsd=30, start=None,
          license=_COP_DEM_LICENSE, producer="European Space Agency / Airbus", platform=["tandem-x"],
          instruments=[], keywords=["dem", "elevation", "copernicus"], extra={"native_step_deg": 1 / 3600}),
    _spec("COPERNICUS_90", "DEM_COPERNICUS_90", "Copernicus DEM GLO-90", default_gsd=90, start=None,
          license=_COP_DEM_LICENSE, producer="European Space Agency / Airbus", platform=["tandem-x"],
          instruments=[], keywords=["dem", "elevation", "copernicus"], extra={"native_step_deg": 3 / 3600}),
    _spec("MAPZEN_DEM", "DEM_MAPZEN", "Mapzen DEM (Terrain Tiles, mixed sources, ~30 m on land)", default_gsd=30,
          start=None, license=_MAPZEN_LICENSE, producer="Mapzen / Tilezen", platform=[], instruments=[],
          keywords=["dem", "elevation", "mapzen", "srtm"]),
]

#: scale of the stored DN to the default unit, where Sentinel Hub documents it (sentinel-hub-api.md §6.2:
#: Sentinel-2 `DN = 10000 · REFLECTANCE`, `AOT = DN / 1000`); other bands are stored in their unit
_DN_SCALES = {"sentinel-2-l1c": {**{b: 0.0001 for b in _S2}, "AOT": 0.001},
              "sentinel-2-l2a": {**{b: 0.0001 for b in _S2}, "AOT": 0.001}}

#: numpy sample type names of sentinelhub-py -> the raster extension's data types
_DATA_TYPES = {"bool": "uint8", "uint8": "uint8", "uint16": "uint16", "int16": "int16", "uint32": "uint32",
               "float32": "float32"}


def _sh_bands(spec) -> list:
    """sentinelhub-py's bands of the collection, meta bands after them (dataMask last)."""
    from sentinelhub import DataCollection  # build-time only
    from sentinelhub.data_collections_bands import Bands

    definition = DataCollection[spec["dc"]].value
    spectral = list(definition.bands or ())
    for name in spec["bands"] or ():  # S1: the base definition leaves bands to the IW/EW presets
        spectral += list(getattr(Bands, name))
    seen: dict[str, object] = {}
    for band in spectral + list(definition.metabands or ()):
        seen.setdefault(band.name, band)
    ordered = [b for b in seen.values() if b.name != "dataMask"]
    return ordered + [seen["dataMask"]]


def _sample_type(band) -> str:
    """The stored sample type: the DN unit's where there is one, else the default unit's."""
    units = [u.value for u in band.units]
    index = units.index("DN") if "DN" in units else 0
    return _DATA_TYPES[band.output_types[index].__name__]


def build_collection(spec) -> dict:
    from sentinelhub import DataCollection  # build-time only

    definition = DataCollection[spec["dc"]].value
    sh_type = definition.api_id
    landsat = sh_type.startswith("landsat-")
    bands, raster_bands = [], []
    for sh_band in _sh_bands(spec):
        name = sh_band.name
        band: dict = {"name": name}
        if name in spec["table"]:
            common, center, fwhm, gsd = spec["table"][name]
            if common:
                band["common_name"] = common
            band["center_wavelength"] = center
            if fwhm:
                band["full_width_half_max"] = fwhm
            band["gsd"] = gsd
        elif name != "dataMask":  # computed per output pixel: no native resolution
            band["gsd"] = spec["aux_gsd"].get(name, spec["default_gsd"])
        if name == "dataMask":
            band["description"] = "1 where the pixel has data, 0 elsewhere (Sentinel Hub's data mask)"
        band["sh:units"] = [unit.value for unit in sh_band.units]
        bands.append(band)
        # no-data: Sentinel Hub returns 0 for pixels without data, NaN in Landsat collections
        nodata = None if name == "dataMask" else ("nan" if landsat else 0)
        raster_band = {"data_type": _sample_type(sh_band)}
        scale = _DN_SCALES.get(sh_type, {}).get(name)
        if scale is not None:
            raster_band.update(scale=scale, offset=0)
        if nodata is not None:
            raster_band["nodata"] = nodata
        raster_bands.append(raster_band)
    names = [b["name"] for b in bands]
    west, south, east, north = spec["bbox"]
    xy_step = spec["extra"].get("native_step_deg")
    dims: dict = {
        "x": {"type": "spatial", "axis": "x", "extent": [west, east], "reference_system": 4326, "step": xy_step},
        "y": {"type": "spatial", "axis": "y", "extent": [south, north], "reference_system": 4326, "step": xy_step},
    }
    start = f"{spec['start']}T00:00:00Z" if spec["start"] else None
    end = f"{spec['end']}T23:59:59Z" if spec["end"] else None
    if not definition.is_timeless:
        dims["t"] = {"type": "temporal", "extent": [start, end], "step": spec["step"]}
    dims["bands"] = {"type": "bands", "values": names}
    summaries: dict = {"gsd": sorted({b["gsd"] for b in bands if "gsd" in b}), "platform": spec["platform"],
                       "instruments": spec["instruments"], "raster:bands": raster_bands}
    if definition.has_cloud_coverage:
        summaries["eo:cloud_cover"] = {"minimum": 0, "maximum": 100}
    if spec["sar"]:
        summaries["sar:polarizations"] = ["VV", "VH", "HH", "HV"]
        summaries["sar:instrument_mode"] = ["IW", "EW", "SM"]
        summaries["sar:frequency_band"] = ["C"]
    aliases = sorted(a for a, target in ALIASES.items() if target == spec["id"])
    # Sentinel Hub details for the compiler (never public: catalogue._public drops sh_* fields)
    internal: dict = {"sh_type": sh_type, "sh_deployment": DEPLOYMENT_OF_URL[definition.service_url]}
    if definition.dem_instance:
        internal["sh_dem_instance"] = definition.dem_instance
    if spec["revisit_days"]:
        internal["sh_revisit_days"] = spec["revisit_days"]
    if spec["extra"].get("processing"):
        internal["sh_processing_defaults"] = spec["extra"]["processing"]
    if spec["extra"].get("data_filter"):
        internal["sh_data_filter_defaults"] = spec["extra"]["data_filter"]
    if aliases:
        internal["sh_aliases"] = aliases
    license_id, license_link = spec["license"]
    description = f"{spec['title']}, served through Sentinel Hub (data type `{sh_type}`)."
    if definition.is_timeless:
        description += " Timeless: the cube has no time dimension."
    elif spec["end"]:
        description += f" The mission's data ends on {spec['end']}: later intervals have no data."
    if spec["extra"].get("processing"):
        options = {**spec["extra"].get("data_filter", {}), **spec["extra"]["processing"]}
        description += (" Loaded with Sentinel Hub's options " + ", ".join(f"`{k}: {json.dumps(v)}`" for k, v in options.items())
                        + "; `sar_backscatter` and the `properties` filters override them.")
    if aliases:
        description += " Also available under the id" + ("s " if len(aliases) > 1 else " ") + \
            ", ".join(f"`{a}`" for a in aliases) + " (the old backend's ids)."
    links = [
        {"rel": "license", "href": license_link, "title": "License"},
        {"rel": "about", "href": "https://docs.sentinel-hub.com/api/latest/data/", "title": "Sentinel Hub data collections"},
    ] + [{"rel": "alternate", "href": f"/collections/{a}", "type": "application/json",
          "title": f"Alias of this collection: {a}"} for a in aliases]
    return stac.collection(
        spec["id"],
        title=spec["title"],
        description=description,
        keywords=spec["keywords"],
        version="1",
        license=license_id,
        providers=[
            {"name": spec["producer"], "roles": ["producer", "licensor"]},
            {"name": "Sinergise / Planet Sentinel Hub", "roles": ["processor", "host"],
             "url": "https://www.sentinel-hub.com"},
        ],
        bbox=[west, south, east, north],
        interval=[start, end],
        cube_dimensions=dims,
        bands=bands,
        summaries=summaries,
        links=links,
        extra_fields=internal,
    )


def build_all() -> dict[str, dict]:
    return {spec["id"]: build_collection(spec) for spec in _SPECS}


_SOURCES = {"sh-main": "Sentinel Hub EU (services)", "sh-uswest": "Sentinel Hub US-West (services-uswest2)",
            "sh-creodias": "Sentinel Hub on CREODIAS"}


def readme_table(docs: dict[str, dict]) -> str:
    """The README's table of collections (a test checks the README has it as generated)."""
    rows = ["| id | source (Sentinel Hub type) | deployment | bands (incl. dataMask) | resolution | availability |",
            "|---|---|---|---|---|---|"]
    for cid, doc in sorted(docs.items()):
        bands = doc["summaries"]["eo:bands"]
        # the data bands' resolution (spectral where there are any; not the angle or meteo grids)
        gsd = sorted({b["gsd"] for b in bands if "center_wavelength" in b}) or doc["summaries"]["gsd"]
        resolution = f"{gsd[0]:g} m" if len(gsd) == 1 else f"{gsd[0]:g}–{gsd[-1]:g} m"
        start, end = doc["extent"]["temporal"]["interval"][0]
        availability = ("timeless" if start is None else f"{start[:10]} – {end[:10] if end else 'ongoing'}")
        aliases = doc.get("sh_aliases") or []
        aliases = f" (alias{'es' if len(aliases) > 1 else ''} {', '.join(f'`{a}`' for a in aliases)})" if aliases else ""
        rows.append(f"| `{cid}`{aliases} | {doc['providers'][0]['name']} (`{doc['sh_type']}`) | "
                    f"{_SOURCES[doc['sh_deployment']]} | {len(doc['cube:dimensions']['bands']['values'])} | "
                    f"{resolution} | {availability} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    DATA.mkdir(exist_ok=True)
    built = build_all()
    for stale in DATA.glob("*.json"):
        if stale.stem not in built:
            stale.unlink()
    for cid, doc in built.items():
        (DATA / f"{cid}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print("wrote", cid)
    print("\nREADME table of collections:\n" + readme_table(built))


if __name__ == "__main__":
    main()
