import importlib.util
import json


from compiler_svc import process_specs
from compiler_svc.collections import build_catalogue
from compiler_svc.collections.catalogue import DATA, catalogue, collection_document, collections_document
from tests.availability import unavailable


def test_supported_processes_have_official_definitions():
    ids = set(process_specs.supported_ids())
    assert "run_udf" not in ids and {"load_collection", "save_result", "ndvi", "reduce_dimension"} <= ids
    assert set(process_specs.supported_definitions()) == ids


def test_supported_list_matches_executor_registry():
    from executor_svc.processes.registry import implemented_process_ids

    executor = set(implemented_process_ids(include_experimental=True, hooks=("load_result",)))
    # processes the compiler turns into Sentinel Hub requests (never run by the executor)
    compiler_only = {"load_collection", "sar_backscatter", "load_stac"}  # load_stac becomes load_result
    ours = set(process_specs.supported_ids()) - compiler_only
    missing = sorted(ours - executor)
    assert missing == [], f"listed as supported but not implemented by the executor: {missing}"


ISSUE_17_IDS = {
    "SENTINEL1_GRD", "SENTINEL2_L1C", "SENTINEL2_L2A", "SENTINEL3_OLCI_L1B", "SENTINEL3_SLSTR", "SENTINEL_5P_L2",
    "LANDSAT1-5_MSS_L1", "LANDSAT4-5_TM_L1", "LANDSAT4-5_TM_L2", "LANDSAT7_ETM_L1", "LANDSAT7_ETM_L2", "LANDSAT8-9_L1",
    "LANDSAT8-9_L2", "MODIS", "NASA_HARMONIZED_LANDSAT_SENTINEL", "COPERNICUS_30", "COPERNICUS_90", "MAPZEN_DEM",
    "SENTINEL1_CARD4L",
}


def test_collections_have_datacube_and_eo_metadata():
    assert set(catalogue()) == ISSUE_17_IDS
    for cid in catalogue():
        doc = collection_document(cid)
        dims = doc["cube:dimensions"]
        assert dims["x"]["axis"] == "x" and dims["y"]["axis"] == "y" and dims["bands"]["values"]
        assert doc["stac_version"] == "1.1.0" and doc["license"] and doc["providers"] and doc["links"]
        bands = doc["summaries"]["eo:bands"]
        assert [b["name"] for b in bands] == dims["bands"]["values"]
        # dataMask exists everywhere (last), computed per output pixel: no native resolution
        assert bands[-1]["name"] == "dataMask" and "gsd" not in bands[-1]
        assert all("gsd" in b for b in bands[:-1]) and all(b["sh:units"] for b in bands)
        raster = doc["summaries"]["raster:bands"]
        assert len(raster) == len(bands) and all(r["data_type"] for r in raster)
        # every extension used is declared, and only those; no empty summaries
        extensions = sorted(url.split("/")[3] for url in doc["stac_extensions"])
        used = {"datacube", "eo", "raster", "version"} | ({"sar"} if "sar:polarizations" in doc["summaries"] else set())
        assert extensions == sorted(used) and doc["version"] == "1"
        assert all(value not in ([], {}, None) for value in doc["summaries"].values())
        # internal fields stay internal (the Process API type is public, as the old backend showed it)
        assert [key for key in doc if key.startswith("sh_")] == ["sh_type"]
    s2 = collection_document("SENTINEL2_L2A")
    b04 = next(b for b in s2["summaries"]["eo:bands"] if b["name"] == "B04")
    assert (b04["common_name"], b04["gsd"]) == ("red", 10) and 0.6 < b04["center_wavelength"] < 0.7
    assert "B10" not in s2["cube:dimensions"]["bands"]["values"] and "SCL" in s2["cube:dimensions"]["bands"]["values"]
    for dem in ("COPERNICUS_30", "COPERNICUS_90", "MAPZEN_DEM"):
        assert "t" not in collection_document(dem)["cube:dimensions"]
        assert "instruments" not in collection_document(dem)["summaries"]  # it lists none
    assert collection_document("SENTINEL1_GRD")["summaries"]["sar:polarizations"] == ["VV", "VH", "HH", "HV"]


def test_band_metadata_comes_from_sentinelhub_definitions():
    if importlib.util.find_spec("sentinelhub") is None:
        unavailable("sentinelhub-py (a build-time dev dependency) not installed")
    from sentinelhub import DataCollection

    for cid, dc in (("SENTINEL3_OLCI_L1B", "SENTINEL3_OLCI"), ("SENTINEL_5P_L2", "SENTINEL5P"), ("MODIS", "MODIS"),
                    ("LANDSAT7_ETM_L1", "LANDSAT_ETM_L1"), ("NASA_HARMONIZED_LANDSAT_SENTINEL", "HARMONIZED_LANDSAT_SENTINEL")):
        definition = DataCollection[dc].value
        names = [b.name for b in definition.bands] + [b.name for b in definition.metabands if b.name != "dataMask"]
        assert catalogue()[cid].band_names == names + ["dataMask"], cid
        assert catalogue()[cid].sh_type == definition.api_id
    units = {b["name"]: b["sh:units"] for b in catalogue()["SENTINEL_5P_L2"].bands}
    assert units["CH4"] == ["PPB"] and units["dataMask"] == ["DN"]
    types = dict(zip(catalogue()["SENTINEL2_L2A"].band_names, collection_document("SENTINEL2_L2A")["summaries"]["raster:bands"]))
    assert types["B04"] == {"data_type": "uint16", "nodata": 0, "scale": 0.0001, "offset": 0}
    assert types["SCL"] == {"data_type": "uint8", "nodata": 0} and types["AOT"]["scale"] == 0.001
    assert types["dataMask"] == {"data_type": "uint8"}
    landsat = dict(zip(catalogue()["LANDSAT8-9_L2"].band_names, collection_document("LANDSAT8-9_L2")["summaries"]["raster:bands"]))
    assert landsat["B04"]["nodata"] == "nan"  # Landsat no-data is NaN on Sentinel Hub (§6.0)
    olci = {b["name"]: b for b in catalogue()["SENTINEL3_OLCI_L1B"].bands}
    assert (olci["B08"]["center_wavelength"], olci["B08"]["gsd"], olci["SZA"]["gsd"]) == (0.665, 300, 19000)
    assert catalogue()["SENTINEL_5P_L2"].gsd("NO2") == 5500 and catalogue()["SENTINEL_5P_L2"].gsd("dataMask") is None


def test_availability_and_deployments():
    def span(cid):
        start, end = catalogue()[cid].time_extent
        return (start.date().isoformat() if start else None, end.date().isoformat() if end else None)

    assert span("LANDSAT4-5_TM_L2") == ("1982-08-22", "2012-05-05")  # Landsat 5 ends in 2012
    assert span("MODIS") == ("2000-02-24", "2023-02-10")
    assert span("SENTINEL_5P_L2") == ("2018-04-30", None) and span("SENTINEL1_GRD") == ("2014-10-03", None)
    assert span("LANDSAT7_ETM_L1")[1] == "2024-01-31" and span("LANDSAT1-5_MSS_L1")[1] == "2013-01-31"
    assert span("COPERNICUS_90") == (None, None) and not catalogue()["COPERNICUS_90"].temporal
    for cid in catalogue():
        doc = collection_document(cid)
        assert doc["extent"]["temporal"]["interval"][0] == (doc["cube:dimensions"]["t"]["extent"]
                                                             if "t" in doc["cube:dimensions"] else [None, None])
    deployments = {cid: c.sh_deployment for cid, c in catalogue().items()}
    assert {cid for cid, d in deployments.items() if d == "sh-uswest"} == {
        c for c in ISSUE_17_IDS if c.startswith("LANDSAT")} | {"MODIS", "NASA_HARMONIZED_LANDSAT_SENTINEL"}
    assert {cid for cid, d in deployments.items() if d == "sh-creodias"} == {
        "SENTINEL3_OLCI_L1B", "SENTINEL3_SLSTR", "SENTINEL_5P_L2"}
    assert {cid for cid, d in deployments.items() if d == "sh-main"} == {
        "SENTINEL1_GRD", "SENTINEL1_CARD4L", "SENTINEL2_L1C", "SENTINEL2_L2A", "COPERNICUS_30", "COPERNICUS_90", "MAPZEN_DEM"}
    assert [catalogue()[c].dem_instance for c in ("COPERNICUS_30", "COPERNICUS_90", "MAPZEN_DEM")] == [
        "COPERNICUS_30", "COPERNICUS_90", "MAPZEN"]
    card4l = catalogue()["SENTINEL1_CARD4L"]
    assert card4l.sh_type == "sentinel-1-grd" and card4l.processing_defaults["backCoeff"] == "GAMMA0_TERRAIN"
    assert card4l.processing_defaults["orthorectify"] is True


def test_aliases_resolve_but_are_listed_once():
    from compiler_svc.collections.catalogue import get_collection, queryables_document

    for alias, target in (("SENTINEL2_L1C_SENTINELHUB", "SENTINEL2_L1C"), ("S2L1C", "SENTINEL2_L1C"),
                          ("SENTINEL2_L2A_SENTINELHUB", "SENTINEL2_L2A")):
        assert alias in catalogue() and catalogue()[alias].id == target and get_collection(alias).id == target
        assert collection_document(alias) == collection_document(target)
        assert queryables_document(alias) == queryables_document(target)
        doc = collection_document(target)
        assert {"rel": "alternate", "href": f"/collections/{alias}", "type": "application/json",
                "title": f"Alias of this collection: {alias}"} in doc["links"]
        assert alias in doc["description"]
    listed = [c["id"] for c in collections_document()["collections"]]
    assert sorted(listed) == sorted(ISSUE_17_IDS) and len(listed) == len(set(listed))
    assert "S2L1C" not in list(catalogue()) and len(catalogue()) == 19


def test_generated_documents_match_sentinelhub_py():
    if importlib.util.find_spec("sentinelhub") is None:
        unavailable("sentinelhub-py (a build-time dev dependency) not installed")
    for cid, doc in build_catalogue.build_all().items():
        assert json.loads((DATA / f"{cid}.json").read_text()) == doc, f"{cid}: rerun python -m compiler_svc.collections.build_catalogue"


def test_readme_lists_the_collections_as_generated():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    docs = {cid: json.loads((DATA / f"{cid}.json").read_text()) for cid in catalogue()}
    assert build_catalogue.readme_table(docs) in readme, "rerun python -m compiler_svc.collections.build_catalogue"
