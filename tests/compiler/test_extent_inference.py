"""Load extents inferred from downstream filters (pure), and the plans that use them."""

from __future__ import annotations

import json

import pytest

from compiler_svc.planning.extent_inference import MARGIN_M, inferred_extent, with_inferred_extents
from tests.compiler.conftest import reducer

BBOX = {"west": 16.1, "south": 48.1, "east": 16.2, "north": 48.2}
POINT = {"type": "Point", "coordinates": [16.15, 48.15]}


def load(extent=None, cid="SENTINEL2_L2A", bands=("B04", "B08")):
    return {"process_id": "load_collection", "arguments": {"id": cid, "spatial_extent": extent,
                                                           "temporal_extent": ["2021-06-01", "2021-07-01"], "bands": list(bands)}}


def node(pid, result=False, **arguments):
    return {"process_id": pid, "arguments": arguments, **({"result": True} if result else {})}


def ref(nid):
    return {"from_node": nid}


def save(src):
    return node("save_result", result=True, data=ref(src), format="GTiff")


def close_around(extent, west, south, east, north):
    pad_lat = MARGIN_M / 110_574.0
    assert extent["crs"] == 4326
    assert extent["south"] == pytest.approx(south - pad_lat) and extent["north"] == pytest.approx(north + pad_lat)
    assert west - 0.001 < extent["west"] < west and east < extent["east"] < east + 0.001


def test_filter_bbox_after_per_pixel_work_is_the_loads_extent():
    g = {"l": load(), "n": node("ndvi", data=ref("l")), "f": node("filter_bbox", data=ref("n"), extent=BBOX), "s": save("f")}
    close_around(inferred_extent(g, "s", "l"), 16.1, 48.1, 16.2, 48.2)


def test_bbox_in_another_crs_and_geometries_of_every_kind():
    utm = {"west": 500000, "south": 5000000, "east": 501000, "north": 5001000, "crs": 32633}
    g = {"l": load(), "f": node("filter_bbox", data=ref("l"), extent=utm), "s": save("f")}
    from pyproj import Transformer

    w, s, e, n = Transformer.from_crs(32633, 4326, always_xy=True).transform_bounds(500000, 5000000, 501000, 5001000)
    close_around(inferred_extent(g, "s", "l"), w, s, e, n)
    for pid, arg in (("aggregate_spatial", "geometries"), ("filter_spatial", "geometries")):
        args = {"data": ref("l"), arg: POINT}
        if pid == "aggregate_spatial":
            args["reducer"] = reducer("mean")
        g = {"l": load(), "a": node(pid, **args), "s": node("save_result", result=True, data=ref("a"), format="JSON")}
        close_around(inferred_extent(g, "s", "l"), 16.15, 48.15, 16.15, 48.15)  # a point: a small box around it


def test_the_union_of_every_branch():
    other = {"west": 16.3, "south": 48.0, "east": 16.4, "north": 48.05}
    g = {"l": load(), "a": node("filter_bbox", data=ref("l"), extent=BBOX), "b": node("filter_bbox", data=ref("l"), extent=other),
         "m": node("merge_cubes", cube1=ref("a"), cube2=ref("b")), "s": save("m")}
    close_around(inferred_extent(g, "s", "l"), 16.1, 48.0, 16.4, 48.2)


@pytest.mark.parametrize("graph", [
    # a path to the result without a restriction
    {"l": load(), "a": node("filter_bbox", data=ref("l"), extent=BBOX), "m": node("merge_cubes", cube1=ref("a"), cube2=ref("l")), "s": save("m")},
    {"l": load(), "s": save("l")},
    # a neighbourhood before the restriction
    {"l": load(), "k": node("apply_kernel", data=ref("l"), kernel=[[1]]), "f": node("filter_bbox", data=ref("k"), extent=BBOX), "s": save("f")},
    # a spatial reduction
    {"l": load(), "r": node("reduce_spatial", data=ref("l"), reducer=reducer("mean")), "s": save("r")},
    # keeps what lies outside the polygon
    {"l": load(), "m": node("mask_polygon", data=ref("l"), mask={"type": "Polygon", "coordinates": [[[16.1, 48.1], [16.2, 48.1], [16.2, 48.2], [16.1, 48.1]]]}, inside=True), "s": save("m")},
    # an area that is not a fixed value
    {"l": load(), "f": node("filter_bbox", data=ref("l"), extent={"from_parameter": "area"}), "s": save("f")},
])
def test_no_inference_without_a_restriction_on_every_path(graph):
    assert inferred_extent(graph, "s", "l") is None
    assert with_inferred_extents(graph, "s") == graph


def test_explicit_boxes_are_cut_down_to_what_the_graph_keeps_in_their_own_crs():
    small = {"west": 16.12, "south": 48.12, "east": 16.13, "north": 48.13}
    g = {"l": load(BBOX), "f": node("filter_bbox", data=ref("l"), extent=small), "s": save("f")}
    cut = with_inferred_extents(g, "s")["l"]["arguments"]["spatial_extent"]
    close_around({**cut, "crs": 4326}, 16.12, 48.12, 16.13, 48.13)
    assert "crs" not in cut  # the user's box, only smaller
    utm = {"west": 575000, "south": 5325000, "east": 595000, "north": 5345000, "crs": 32633}
    g = {"l": load(utm), "f": node("filter_bbox", data=ref("l"), extent=small), "s": save("f")}
    cut = with_inferred_extents(g, "s")["l"]["arguments"]["spatial_extent"]
    assert cut["crs"] == 32633 and utm["west"] < cut["west"] < cut["east"] < utm["east"]
    assert utm["south"] < cut["south"] < cut["north"] < utm["north"] and cut["east"] - cut["west"] < 1000


@pytest.mark.parametrize("extent, restriction", [
    ({"west": 16.12, "south": 48.12, "east": 16.13, "north": 48.13}, BBOX),  # the filter is larger: nothing to cut
    (BBOX, {"west": 17.0, "south": 49.0, "east": 17.1, "north": 49.1}),  # no overlap: left to the planner
    ({"type": "Polygon", "coordinates": [[[16.1, 48.1], [16.2, 48.1], [16.2, 48.2], [16.1, 48.1]]]},  # masks
     {"west": 16.12, "south": 48.12, "east": 16.13, "north": 48.13}),
])
def test_explicit_extents_that_are_kept(extent, restriction):
    g = {"l": load(extent), "f": node("filter_bbox", data=ref("l"), extent=restriction), "s": save("f")}
    assert with_inferred_extents(g, "s") == g


async def test_a_plan_loads_only_the_filtered_area():
    from backend_proto.v1 import compiler_pb2
    from compiler_svc import core
    from tests.compiler.conftest import FakeStore, as_json

    g = {"l": load(), "n": node("ndvi", data=ref("l")), "f": node("filter_bbox", data=ref("n"), extent=BBOX), "s": save("f")}
    plan = await core.compile_process(as_json(g), FakeStore(), purpose=compiler_pb2.PURPOSE_SYNC)
    (ld,) = plan.loads
    assert 700 < ld.width < 800 and 1100 < ld.height < 1200  # ~0.1° x 0.1° at 10 m, not the whole collection
    assert json.loads(plan.graph_json)["l"]["arguments"]["spatial_extent"]["crs"] == 4326
