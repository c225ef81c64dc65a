"""Builds the STAC collection documents in `data/` (run: python -m compiler_svc.collections.build_catalogue)
as pystac Collections (`backend_common.stac.collection`).

Band names, their order and Sentinel Hub units come from sentinelhub-py's maintained band
definitions (`sentinelhub.data_collections_bands`), a build-time dependency only: the service reads
the generated JSON. sentinelhub-py carries no wavelengths or resolutions, so those come from the
table below (values from the ESA/USGS sensor specifications as summarised in the Sentinel Hub
collection pages); bands it does not describe keep only name, gsd and units.
"""

from __future__ import annotations

import json
from pathlib import Path

from backend_common import stac

DATA = Path(__file__).with_name("data")

# name: (common_name, center_wavelength µm, full_width_half_max µm, gsd m)
_S2 = {
    "B01": ("coastal", 0.443, 0.021, 60), "B02": ("blue", 0.490, 0.066, 10), "B03": ("green", 0.560, 0.036, 10),
    "B04": ("red", 0.665, 0.031, 10), "B05": ("rededge", 0.705, 0.015, 20), "B06": ("rededge", 0.740, 0.015, 20),
    "B07": ("rededge", 0.783, 0.020, 20), "B08": ("nir", 0.842, 0.106, 10), "B8A": ("nir08", 0.865, 0.021, 20),
    "B09": ("nir09", 0.945, 0.020, 60), "B10": ("cirrus", 1.375, 0.031, 60), "B11": ("swir16", 1.610, 0.091, 20),
    "B12": ("swir22", 2.190, 0.175, 20),
}
_S2_AUX_GSD = {"AOT": 10, "SCL": 20, "SNW": 20, "CLD": 20, "CLP": 160, "CLM": 160, "sunAzimuthAngles": 5000,
               "sunZenithAngles": 5000, "viewAzimuthMean": 5000, "viewZenithMean": 5000}
_LANDSAT = {
    "B01": ("coastal", 0.443, 0.016, 30), "B02": ("blue", 0.482, 0.060, 30), "B03": ("green", 0.562, 0.057, 30),
    "B04": ("red", 0.655, 0.037, 30), "B05": ("nir", 0.865, 0.028, 30), "B06": ("swir16", 1.609, 0.085, 30),
    "B07": ("swir22", 2.201, 0.187, 30), "B10": ("lwir11", 10.895, 0.590, 30),
}

_SPECS = [
    {
        "id": "SENTINEL2_L1C", "title": "Sentinel-2 L1C top-of-atmosphere reflectance", "sh_type": "sentinel-2-l1c",
        "sh_bands": ["SENTINEL2_L1C"], "sh_meta": ["SENTINEL2_L1C"], "table": _S2, "aux_gsd": _S2_AUX_GSD,
        "start": "2015-06-27T00:00:00Z", "bbox": [-180, -56, 180, 84], "step": "P5D", "revisit_days": 5,
        "license": "proprietary", "license_link": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
        "platform": ["sentinel-2a", "sentinel-2b"], "instrument": ["msi"], "cloud_cover": True,
        "producer": "European Space Agency", "keywords": ["sentinel-2", "msi", "l1c", "optical"],
    },
    {
        "id": "SENTINEL2_L2A", "title": "Sentinel-2 L2A bottom-of-atmosphere reflectance", "sh_type": "sentinel-2-l2a",
        "sh_bands": ["SENTINEL2_L2A"], "sh_meta": ["SENTINEL2_L2A"], "table": _S2, "aux_gsd": _S2_AUX_GSD,
        "start": "2016-11-01T00:00:00Z", "bbox": [-180, -56, 180, 84], "step": "P5D", "revisit_days": 5,
        "license": "proprietary", "license_link": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
        "platform": ["sentinel-2a", "sentinel-2b"], "instrument": ["msi"], "cloud_cover": True,
        "producer": "European Space Agency", "keywords": ["sentinel-2", "msi", "l2a", "optical", "sen2cor"],
    },
    {
        "id": "SENTINEL1_GRD", "title": "Sentinel-1 GRD backscatter", "sh_type": "sentinel-1-grd",
        "sh_bands": ["SENTINEL1_IW", "SENTINEL1_EW"], "sh_meta": ["SENTINEL1"], "table": {}, "default_gsd": 10,
        "start": "2014-10-03T00:00:00Z", "bbox": [-180, -85, 180, 85], "step": "P6D", "revisit_days": 6,
        "license": "proprietary", "license_link": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
        "platform": ["sentinel-1a", "sentinel-1b"], "instrument": ["c-sar"], "cloud_cover": False,
        "producer": "European Space Agency", "keywords": ["sentinel-1", "sar", "grd", "backscatter"], "sar": True,
    },
    {
        "id": "LANDSAT8-9_L2", "title": "Landsat 8-9 Collection 2 Level-2 surface reflectance and temperature",
        "sh_type": "landsat-ot-l2", "sh_deployment": "sh-uswest",
        "sh_bands": ["LANDSAT_OT_L2"], "sh_meta": ["LANDSAT_OT_L2"], "table": _LANDSAT, "default_gsd": 30,
        "start": "2013-03-18T00:00:00Z", "bbox": [-180, -82, 180, 82], "step": "P8D", "revisit_days": 8,
        "license": "CC0-1.0", "license_link": "https://www.usgs.gov/core-science-systems/hdds/data-policy",
        "platform": ["landsat-8", "landsat-9"], "instrument": ["oli", "tirs"], "cloud_cover": True,
        "producer": "U.S. Geological Survey", "keywords": ["landsat", "oli", "tirs", "l2"],
    },
    {
        "id": "COPERNICUS_30", "title": "Copernicus DEM GLO-30", "sh_type": "dem", "dem_instance": "COPERNICUS_30",
        "sh_bands": ["DEM"], "sh_meta": [], "table": {}, "default_gsd": 30, "native_step_deg": 1 / 3600,
        "start": None, "bbox": [-180, -90, 180, 90], "step": None, "revisit_days": None,
        "license": "proprietary", "license_link": "https://spacedata.copernicus.eu/documents/20126/0/CSCDA_ESA_Mission-specific+Annex.pdf",
        "platform": ["tandem-x"], "instrument": [], "cloud_cover": False,
        "producer": "European Space Agency / Airbus", "keywords": ["dem", "elevation", "copernicus"],
    },
]


def _sh_bands(spec) -> list[tuple[str, list[str]]]:
    from sentinelhub.data_collections_bands import Bands, MetaBands  # build-time only

    seen: dict[str, list[str]] = {}
    for group, source in ((spec["sh_bands"], Bands), (spec["sh_meta"], MetaBands)):
        for name in group:
            for band in getattr(source, name):
                if band.name == "dataMask" or band.name in seen:
                    continue
                seen[band.name] = [unit.value for unit in band.units]
    return list(seen.items())


def build_collection(spec) -> dict:
    bands = []
    for name, units in _sh_bands(spec):
        band: dict = {"name": name}
        if name in spec["table"]:
            common, center, fwhm, gsd = spec["table"][name]
            band.update(common_name=common, center_wavelength=center, full_width_half_max=fwhm, gsd=gsd)
        else:
            band["gsd"] = spec.get("aux_gsd", {}).get(name, spec.get("default_gsd", 10))
        band["sh:units"] = units
        bands.append(band)
    names = [b["name"] for b in bands]
    west, south, east, north = spec["bbox"]
    xy_step = spec.get("native_step_deg")
    dims: dict = {
        "x": {"type": "spatial", "axis": "x", "extent": [west, east], "reference_system": 4326, "step": xy_step},
        "y": {"type": "spatial", "axis": "y", "extent": [south, north], "reference_system": 4326, "step": xy_step},
    }
    if spec["start"] is not None:
        dims["t"] = {"type": "temporal", "extent": [spec["start"], None], "step": spec["step"]}
    dims["bands"] = {"type": "bands", "values": names}
    summaries: dict = {"gsd": sorted({b["gsd"] for b in bands}), "platform": spec["platform"],
                       "instruments": spec["instrument"]}
    if spec["cloud_cover"]:
        summaries["eo:cloud_cover"] = {"minimum": 0, "maximum": 100}
    if spec.get("sar"):
        summaries["sar:polarizations"] = ["VV", "VH", "HH", "HV"]
        summaries["sar:instrument_mode"] = ["IW", "EW", "SM"]
    # Sentinel Hub details for the compiler (never public: catalogue._public drops sh_* fields)
    internal: dict = {"sh_type": spec["sh_type"]}
    if spec.get("dem_instance"):
        internal["sh_dem_instance"] = spec["dem_instance"]
    if spec.get("sh_deployment"):
        internal["sh_deployment"] = spec["sh_deployment"]
    if spec.get("revisit_days"):
        internal["sh_revisit_days"] = spec["revisit_days"]
    return stac.collection(
        spec["id"],
        title=spec["title"],
        description=f"{spec['title']}, served through Sentinel Hub (data type `{spec['sh_type']}`).",
        keywords=spec["keywords"],
        version="1",
        license=spec["license"],
        providers=[
            {"name": spec["producer"], "roles": ["producer", "licensor"]},
            {"name": "Sinergise / Planet Sentinel Hub", "roles": ["processor", "host"],
             "url": "https://www.sentinel-hub.com"},
        ],
        bbox=[west, south, east, north],
        interval=[spec["start"], None],
        cube_dimensions=dims,
        bands=bands,
        summaries=summaries,
        links=[
            {"rel": "license", "href": spec["license_link"], "title": "License"},
            {"rel": "about", "href": "https://docs.sentinel-hub.com/api/latest/data/", "title": "Sentinel Hub data collections"},
        ],
        extra_fields=internal,
    )


def build_all() -> dict[str, dict]:
    return {spec["id"]: build_collection(spec) for spec in _SPECS}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for cid, doc in build_all().items():
        (DATA / f"{cid}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print("wrote", cid)


if __name__ == "__main__":
    main()
