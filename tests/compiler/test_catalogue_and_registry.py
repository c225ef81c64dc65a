import importlib.util
import json


from compiler_svc import process_specs
from compiler_svc.collections import build_catalogue
from compiler_svc.collections.catalogue import DATA, catalogue, collection_document
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


def test_collections_have_datacube_and_eo_metadata():
    assert set(catalogue()) == {"SENTINEL2_L1C", "SENTINEL2_L2A", "SENTINEL1_GRD", "LANDSAT8-9_L2", "COPERNICUS_30"}
    for cid in catalogue():
        doc = collection_document(cid)
        dims = doc["cube:dimensions"]
        assert dims["x"]["axis"] == "x" and dims["y"]["axis"] == "y" and dims["bands"]["values"]
        assert doc["stac_version"] == "1.1.0" and doc["license"] and doc["providers"] and doc["links"]
        assert all("gsd" in b for b in doc["summaries"]["eo:bands"])
        # every extension used is declared, and only those; no empty summaries
        extensions = sorted(url.split("/")[3] for url in doc["stac_extensions"])
        used = {"datacube", "eo", "version"} | ({"sar"} if "sar:polarizations" in doc["summaries"] else set())
        assert extensions == sorted(used) and doc["version"] == "1"
        assert all(value not in ([], {}, None) for value in doc["summaries"].values())
    s2 = collection_document("SENTINEL2_L2A")
    b04 = next(b for b in s2["summaries"]["eo:bands"] if b["name"] == "B04")
    assert (b04["common_name"], b04["gsd"]) == ("red", 10) and 0.6 < b04["center_wavelength"] < 0.7
    assert "B10" not in s2["cube:dimensions"]["bands"]["values"] and "SCL" in s2["cube:dimensions"]["bands"]["values"]
    assert "t" not in collection_document("COPERNICUS_30")["cube:dimensions"]
    assert "instruments" not in collection_document("COPERNICUS_30")["summaries"]  # it lists none
    assert collection_document("SENTINEL1_GRD")["summaries"]["sar:polarizations"] == ["VV", "VH", "HH", "HV"]


def test_generated_documents_match_sentinelhub_py():
    if importlib.util.find_spec("sentinelhub") is None:
        unavailable("sentinelhub-py (a build-time dev dependency) not installed")
    for cid, doc in build_catalogue.build_all().items():
        assert json.loads((DATA / f"{cid}.json").read_text()) == doc, f"{cid}: rerun python -m compiler_svc.collections.build_catalogue"
