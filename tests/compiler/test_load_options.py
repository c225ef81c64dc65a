"""Per-collection load options: queryables, their validation (400 with the property named) and the
Sentinel Hub dataFilter / processing / deployment they put into the plan, per collection family."""

import json

import pytest

from compiler_svc import compilation
from compiler_svc.collections.catalogue import catalogue, queryables_document
from compiler_svc.collections.load_options import parse_condition, sentinel_hub_options
from compiler_svc.problems import ProblemError
from tests.compiler.conftest import BBOX, FakeStore, as_json, load, save


def cond(process_id, value, key=None, swap=False):
    if process_id == "between":
        args = {"x": {"from_parameter": "value"}, "min": value[0], "max": value[1]}
    elif process_id == "array_contains":
        args = {"data": value, "value": {"from_parameter": "value"}}
    elif swap:
        args = {"x": value, "y": {"from_parameter": "value"}}
    else:
        args = {"x": {"from_parameter": "value"}, "y": value}
    graph = {"process_graph": {"c": {"process_id": process_id, "arguments": args, "result": True}}}
    return {key: graph} if key else graph


async def problems(graph):
    return await compilation.validate_all(as_json(graph), FakeStore())


async def plan_load(cid, bands, properties=None, temporal=("2021-06-01", "2021-07-01"), extra=None):
    graph = {"l": load(cid=cid, bands=bands, temporal=temporal, **({"properties": properties} if properties else {})),
             **(extra or {})}
    graph["s"] = save("b" if extra else "l")
    plan = await compilation.compile_process(as_json(graph), FakeStore())
    (ld,) = plan.loads
    return ld, json.loads(ld.data_filter_json), json.loads(ld.processing_json)


def test_queryables_per_collection_family():
    def names(cid):
        return list(queryables_document(cid)["properties"])

    assert names("SENTINEL1_GRD") == names("SENTINEL1_CARD4L") == [
        "sat:orbit_state", "sar:instrument_mode", "s1:polarization", "s1:resolution", "s1:timeliness"]
    assert names("SENTINEL_5P_L2") == ["s5p:timeliness", "qa_value"]
    assert names("SENTINEL3_SLSTR") == ["eo:cloud_cover", "sat:orbit_state"]
    assert names("SENTINEL3_OLCI_L1B") == [] and names("MODIS") == [] and names("MAPZEN_DEM") == []
    for cid in catalogue():
        if cid.startswith("LANDSAT"):
            assert names(cid) == ["eo:cloud_cover", "landsat:collection_category"], cid
    assert names("NASA_HARMONIZED_LANDSAT_SENTINEL") == ["eo:cloud_cover", "constellation"]
    assert names("SENTINEL2_L1C") == ["eo:cloud_cover"]


@pytest.mark.parametrize("condition, expected", [
    (cond("eq", "IW"), ("eq", "IW")),
    (cond("lte", 30, swap=True), ("gte", 30)),  # 30 <= value is value >= 30
    (cond("between", [0, 20]), ("between", [0, 20])),
    (cond("array_contains", ["T1", "RT"]), ("array_contains", ["T1", "RT"])),
])
def test_conditions_are_parsed(condition, expected):
    parsed = parse_condition(condition)
    assert (parsed.op, parsed.operand) == expected


@pytest.mark.parametrize("condition", [
    {"process_graph": {}}, "IW", cond("neq", "IW"), cond("eq", {"from_parameter": "other"}),
    {"process_graph": {"a": {"process_id": "eq", "arguments": {"x": {"from_parameter": "value"}, "y": 1}},
                       "b": {"process_id": "eq", "arguments": {"x": {"from_parameter": "value"}, "y": 2}}}},
])
def test_conditions_that_are_not_one_comparison(condition):
    with pytest.raises(ValueError):
        parse_condition(condition)


def test_sentinel_hub_options_of_each_queryable():
    s1 = {**cond("eq", "IW", "sar:instrument_mode"), **cond("eq", "DV", "s1:polarization"),
          **cond("eq", "medium", "s1:resolution"), **cond("eq", "descending", "sat:orbit_state"),
          **cond("eq", "NRT3h", "s1:timeliness")}
    assert sentinel_hub_options(s1, "sentinel-1-grd") == ({
        "acquisitionMode": "IW", "polarization": "DV", "resolution": "MEDIUM", "orbitDirection": "DESCENDING",
        "timeliness": "NRT3h"}, {})
    s5p = {**cond("eq", "OFFL", "s5p:timeliness"), **cond("gte", 75, "qa_value")}
    assert sentinel_hub_options(s5p, "sentinel-5p-l2") == ({"timeliness": "OFFL"}, {"minQa": 75})
    assert sentinel_hub_options(cond("gt", 50, "qa_value"), "sentinel-5p-l2") == ({}, {"minQa": 51})
    assert sentinel_hub_options(cond("eq", "T1", "landsat:collection_category"), "landsat-tm-l2") == ({"tiers": "TIER_1"}, {})
    assert sentinel_hub_options(cond("array_contains", ["RT", "T1"], "landsat:collection_category"),
                                "landsat-ot-l1") == ({"tiers": "TIER_1_AND_RT"}, {})
    assert sentinel_hub_options(cond("array_contains", ["T1", "T2"], "landsat:collection_category"),
                                "landsat-ot-l2") == ({"tiers": "ALL_TIERS"}, {})
    assert sentinel_hub_options(cond("between", [0, 40], "eo:cloud_cover"), "sentinel-3-slstr") == (
        {"maxCloudCoverage": 40.0}, {})
    assert sentinel_hub_options(cond("eq", "landsat", "constellation"), "hls") == ({"constellation": "LANDSAT"}, {})


@pytest.mark.parametrize("cid, properties, needle", [
    ("SENTINEL1_GRD", cond("eq", "XX", "sar:instrument_mode"), "SM, IW, EW, WV"),
    ("SENTINEL1_GRD", cond("lte", 3, "s1:polarization"), "only eq"),
    ("SENTINEL_5P_L2", cond("lte", 50, "qa_value"), "lower bound"),
    ("SENTINEL_5P_L2", cond("gte", 150, "qa_value"), "from 0 to 100"),
    ("SENTINEL_5P_L2", cond("eq", "FAST", "s5p:timeliness"), "NRTI, OFFL, RPRO"),
    ("LANDSAT4-5_TM_L1", cond("array_contains", ["T1", "RT"], "landsat:collection_category"), "tiers"),
    ("SENTINEL2_L2A", cond("gte", 10, "eo:cloud_cover"), "upper bound"),
    ("SENTINEL2_L2A", cond("lte", 101, "eo:cloud_cover"), "from 0 to 100"),
    ("SENTINEL2_L2A", cond("eq", "IW", "sar:instrument_mode"), "not supported for collection"),
    ("SENTINEL3_OLCI_L1B", cond("lte", 10, "eo:cloud_cover"), "not supported for collection"),
    ("MODIS", cond("eq", "T1", "landsat:collection_category"), "not supported for collection"),
])
async def test_bad_load_options_are_400_naming_properties(cid, properties, needle):
    ended = cid.startswith("LANDSAT4-5") or cid == "MODIS"
    found = await problems({"l": load(cid=cid, bands=None, properties=properties,
                                      temporal=("2010-06-01", "2010-07-01") if ended else ("2021-06-01", "2021-07-01")),
                            "s": save("l")})
    assert [(p.code, p.node_id, p.parameter, p.http_status) for p in found] == [
        ("ProcessParameterInvalid", "l", "properties", 400)]
    assert needle in found[0].message


async def test_good_load_options_validate():
    for cid, properties in (("SENTINEL1_CARD4L", cond("eq", "ascending", "sat:orbit_state")),
                            ("SENTINEL_5P_L2", cond("gte", 50, "qa_value")),
                            ("LANDSAT7_ETM_L1", cond("array_contains", ["T1", "RT"], "landsat:collection_category"))):
        assert await problems({"l": load(cid=cid, bands=None, temporal=("2021-06-01", "2021-07-01") if cid != "LANDSAT7_ETM_L1"
                                         else ("2010-06-01", "2010-07-01"), properties=properties), "s": save("l")}) == []


async def test_s1_plan_carries_filters_and_sar_backscatter_processing():
    props = {**cond("eq", "IW", "sar:instrument_mode"), **cond("eq", "DV", "s1:polarization"),
             **cond("eq", "HIGH", "s1:resolution")}
    sb = {"process_id": "sar_backscatter", "arguments": {"data": {"from_node": "l"}, "coefficient": "sigma0-ellipsoid"}}
    ld, data_filter, processing = await plan_load("SENTINEL1_GRD", ["VV", "VH", "dataMask"], props, extra={"b": sb})
    assert ld.sh_deployment == "sh-main" and ld.sh_type == "sentinel-1-grd"
    assert {k: data_filter[k] for k in ("acquisitionMode", "polarization", "resolution")} == {
        "acquisitionMode": "IW", "polarization": "DV", "resolution": "HIGH"}
    assert processing["backCoeff"] == "SIGMA0_ELLIPSOID" and processing["orthorectify"] is True


async def test_card4l_plan_has_the_card4l_defaults_and_sar_backscatter_overrides_them():
    ld, data_filter, processing = await plan_load("SENTINEL1_CARD4L", ["VV", "VH"])
    assert ld.sh_type == "sentinel-1-grd" and ld.collection_id == "SENTINEL1_CARD4L" and ld.sh_deployment == "sh-main"
    assert processing == {"backCoeff": "GAMMA0_TERRAIN", "orthorectify": True, "demInstance": "COPERNICUS",
                          "radiometricTerrainOversampling": 2, "speckleFilter": {"type": "NONE"}}
    assert data_filter["acquisitionMode"] == "IW" and data_filter["resolution"] == "HIGH"
    sb = {"process_id": "sar_backscatter", "arguments": {"data": {"from_node": "l"}, "coefficient": "beta0"}}
    _, _, processing = await plan_load("SENTINEL1_CARD4L", ["VV"], extra={"b": sb})
    assert processing["backCoeff"] == "BETA0" and processing["radiometricTerrainOversampling"] == 2


async def test_s5p_plan_timeliness_min_qa_and_creodias():
    props = {**cond("eq", "NRTI", "s5p:timeliness"), **cond("gte", 75, "qa_value")}
    ld, data_filter, processing = await plan_load("SENTINEL_5P_L2", ["NO2", "dataMask"], props)
    assert (ld.sh_type, ld.sh_deployment) == ("sentinel-5p-l2", "sh-creodias")
    assert data_filter["timeliness"] == "NRTI" and processing == {"minQa": 75}
    assert ld.width <= 4 and ld.height <= 4  # 0.1 degree at ~5.5 km


async def test_landsat_plan_tier_cloud_cover_and_us_west():
    props = {**cond("eq", "T1", "landsat:collection_category"), **cond("lte", 20, "eo:cloud_cover")}
    ld, data_filter, _ = await plan_load("LANDSAT4-5_TM_L2", ["B03", "dataMask"], props, temporal=("2010-06-01", "2010-07-01"))
    assert (ld.sh_type, ld.sh_deployment) == ("landsat-tm-l2", "sh-uswest")
    assert data_filter["tiers"] == "TIER_1" and data_filter["maxCloudCoverage"] == 20


async def test_slstr_orbit_direction_and_every_family_deployment():
    ld, data_filter, _ = await plan_load("SENTINEL3_SLSTR", ["S8"], cond("eq", "descending", "sat:orbit_state"))
    assert (ld.sh_type, ld.sh_deployment, data_filter["orbitDirection"]) == ("sentinel-3-slstr", "sh-creodias", "DESCENDING")
    for cid, band, when, sh_type, deployment in (
            ("MODIS", "B01", ("2020-06-01", "2020-06-05"), "modis", "sh-uswest"),
            ("NASA_HARMONIZED_LANDSAT_SENTINEL", "Red", ("2021-06-01", "2021-06-05"), "hls", "sh-uswest"),
            ("SENTINEL3_OLCI_L1B", "B08", ("2021-06-01", "2021-06-05"), "sentinel-3-olci", "sh-creodias"),
            ("SENTINEL2_L1C_SENTINELHUB", "B04", ("2021-06-01", "2021-06-05"), "sentinel-2-l1c", "sh-main"),
            ("MAPZEN_DEM", "DEM", None, "dem", "sh-main")):
        ld, data_filter, _ = await plan_load(cid, [band, "dataMask"], temporal=when)
        assert (ld.sh_type, ld.sh_deployment) == (sh_type, deployment), cid
    assert data_filter == {"demInstance": "MAPZEN"} and ld.collection_id == "MAPZEN_DEM"


async def test_alias_loads_plan_as_their_collection():
    ld, _, _ = await plan_load("SENTINEL2_L2A_SENTINELHUB", ["B04", "dataMask"])
    assert (ld.collection_id, ld.sh_type) == ("SENTINEL2_L2A", "sentinel-2-l2a")
    assert '"bands":["B04","dataMask"]' in ld.evalscript  # dataMask once in the input


async def test_data_outside_availability_is_refused_early():
    found = await problems({"l": load(cid="LANDSAT4-5_TM_L2", bands=["B03"], temporal=("2015-01-01", "2015-02-01")),
                            "s": save("l")})
    assert [(p.code, p.parameter) for p in found] == [("ProcessParameterInvalid", "temporal_extent")]
    assert "2012-05-05" in found[0].message
    found = await problems({"l": load(cid="SENTINEL_5P_L2", bands=["NO2"], temporal=("2017-01-01", "2017-02-01")),
                            "s": save("l")})
    assert "2018-04-30" in found[0].message


def test_bbox_is_small_enough_for_every_collection():
    # the shared test extent is inside every collection's bounding box (the fixtures rely on it)
    for c in catalogue().values():
        w, s, e, n = c.bbox
        assert w <= BBOX["west"] and e >= BBOX["east"] and s <= BBOX["south"] and n >= BBOX["north"]


def test_every_queryables_document_is_a_valid_json_schema():
    from jsonschema import Draft201909Validator

    for cid in catalogue():
        doc = queryables_document(cid)
        Draft201909Validator.check_schema(doc)
        assert doc["additionalProperties"] is False and doc["$id"] == f"/collections/{cid}/queryables"
    s1 = Draft201909Validator(queryables_document("SENTINEL1_GRD"))
    assert s1.is_valid({"sar:instrument_mode": "IW", "s1:polarization": "DV"})
    assert not s1.is_valid({"sar:instrument_mode": "XX"}) and not s1.is_valid({"eo:cloud_cover": 3})


async def test_card4l_costs_as_terrain_corrected_backscatter():
    plain = await compilation.compile_process(as_json({"l": load(cid="SENTINEL1_GRD", bands=["VV"]), "s": save("l")}), FakeStore())
    card4l = await compilation.compile_process(as_json({"l": load(cid="SENTINEL1_CARD4L", bands=["VV"]), "s": save("l")}), FakeStore())
    assert card4l.estimated_processing_units == pytest.approx(plain.estimated_processing_units * 2.5, rel=0.01)
    with_mask = await compilation.compile_process(
        as_json({"l": load(cid="SENTINEL1_GRD", bands=["VV", "dataMask"]), "s": save("l")}), FakeStore())
    assert with_mask.estimated_processing_units == plain.estimated_processing_units  # dataMask is not billed


def sar(**arguments):
    return {"b": {"process_id": "sar_backscatter", "arguments": {"data": {"from_node": "l"}, **arguments}}}


def test_sar_processing_options_and_their_limits():
    # the published sar_backscatter definition allows no `options` yet (validation refuses them);
    # the planner's mapping of Sentinel Hub's own options is checked directly
    from compiler_svc.planning.sar import sar_processing

    assert sar_processing({"coefficient": "sigma0-ellipsoid", "options": {"orthorectify": False}}, "b") == {
        "backCoeff": "SIGMA0_ELLIPSOID", "orthorectify": False, "demInstance": "COPERNICUS"}
    processing = sar_processing({"options": {"speckle_filter": {"type": "LEE", "windowSizeX": 3, "windowSizeY": 3},
                                              "radiometricTerrainOversampling": 3}}, "b")
    assert processing["speckleFilter"]["type"] == "LEE" and processing["radiometricTerrainOversampling"] == 3
    for spec, parameter in (
            ({"options": {"orthorectify": False}}, "options"),  # gamma0-terrain (the default) needs it
            ({"coefficient": "beta0", "local_incidence_angle": True, "options": {"orthorectify": False}}, "options"),
            ({"coefficient": "beta0", "mask": True}, "coefficient"),
            ({"options": {"speckle_filter": {"type": "LEE", "windowSizeX": 9, "windowSizeY": 3}}}, "options"),
            ({"options": {"radiometricTerrainOversampling": 5}}, "options"),
            ({"options": {"tiling": True}}, "options")):
        with pytest.raises(ProblemError) as info:
            sar_processing(spec, "b")
        assert (info.value.problem.node_id, info.value.problem.parameter) == ("b", parameter), spec


async def test_sar_backscatter_mask_needs_gamma0_terrain():
    sb = {"process_id": "sar_backscatter", "arguments": {"data": {"from_node": "l"}, "coefficient": "beta0", "mask": True}}
    with pytest.raises(ProblemError) as info:
        await plan_load("SENTINEL1_GRD", ["VV"], extra={"b": sb})
    assert (info.value.problem.node_id, info.value.problem.parameter) == ("b", "coefficient")
