"""Load extents inferred from downstream filters (pure), and the plans that use them."""

from __future__ import annotations

import json

import pytest

from compiler_svc.planning.extent_inference import MARGIN_M, inferred_extent, restricted_areas, with_inferred_extents
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
    assert with_inferred_extents(graph, restricted_areas(graph, "s")) == graph


def test_explicit_extents_are_kept():
    g = {"l": load(BBOX), "f": node("filter_bbox", data=ref("l"), extent={"west": 16.12, "south": 48.12, "east": 16.13, "north": 48.13}),
         "s": save("f")}
    assert with_inferred_extents(g, restricted_areas(g, "s")) == g


async def test_a_plan_loads_only_the_filtered_area():
    from backend_proto.v1 import compiler_pb2
    from compiler_svc import compilation
    from tests.compiler.conftest import FakeStore, as_json

    g = {"l": load(), "n": node("ndvi", data=ref("l")), "f": node("filter_bbox", data=ref("n"), extent=BBOX), "s": save("f")}
    plan = await compilation.compile_process(as_json(g), FakeStore(), purpose=compiler_pb2.PURPOSE_SYNC)
    (ld,) = plan.loads
    assert 700 < ld.width < 800 and 1100 < ld.height < 1200  # ~0.1° x 0.1° at 10 m, not the whole collection
    assert ld.bbox.epsg == 4326
    assert (ld.bbox.west, ld.bbox.south, ld.bbox.east, ld.bbox.north) == pytest.approx((16.1, 48.1, 16.2, 48.2), abs=1e-3)
    # the executor is left with the filter and the save; the load's nodes are seeded
    assert list(plan.node_order) == ["f", "s"] and set(json.loads(plan.graph_json)) == {"f", "s"}


def test_cropped_grids_keep_pixel_size_and_alignment():
    from compiler_svc.planning.spatial import Grid, cropped

    grid = Grid(500000.0, 5000000.0, 510000.0, 5010000.0, 32633, 1000, 1000)
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(32633, 4326, always_xy=True)
    area = to_wgs84.transform_bounds(503001.0, 5004002.0, 504003.0, 5005004.0)
    cut = cropped(grid, area)
    assert (cut.east - cut.west) / cut.width == pytest.approx(10.0) and (cut.north - cut.south) / cut.height == pytest.approx(10.0)
    for edge in (cut.west - grid.west, grid.north - cut.north, cut.east - grid.west, grid.north - cut.south):
        assert edge / 10.0 == pytest.approx(round(edge / 10.0), abs=1e-6)  # on the original pixel edges
    assert cut.west <= 503001.0 and cut.east >= 504003.0 and cut.south <= 5004002.0 and cut.north >= 5005004.0
    assert cut.width < 110 and cut.height < 110
    assert cropped(grid, to_wgs84.transform_bounds(400000, 4900000, 600000, 5100000)) == grid  # covers it all
    assert cropped(grid, (0.0, 0.0, 0.1, 0.1)) == grid  # elsewhere: the planner keeps what was asked


async def test_an_explicit_box_is_loaded_only_where_a_later_filter_keeps_it():
    from backend_proto.v1 import compiler_pb2
    from compiler_svc import compilation
    from tests.compiler.conftest import FakeStore, as_json

    small = {"west": 16.12, "south": 48.12, "east": 16.13, "north": 48.13}
    full = await compilation.compile_process(as_json({"l": load(BBOX), "s": save("l")}), FakeStore(), purpose=compiler_pb2.PURPOSE_BATCH)
    g = {"l": load(BBOX), "f": node("filter_bbox", data=ref("l"), extent=small), "s": save("f")}
    plan = await compilation.compile_process(as_json(g), FakeStore(), purpose=compiler_pb2.PURPOSE_BATCH)
    (whole,), (ld,) = full.loads, plan.loads
    assert ld.width * ld.height * 50 < whole.width * whole.height
    px = (whole.bbox.east - whole.bbox.west) / whole.width
    assert (ld.bbox.east - ld.bbox.west) / ld.width == pytest.approx(px)
    assert (ld.bbox.west - whole.bbox.west) / px == pytest.approx(round((ld.bbox.west - whole.bbox.west) / px), abs=1e-6)
    assert json.loads(plan.process_json)["process_graph"]["l"]["arguments"]["spatial_extent"] == BBOX  # what the user wrote
    assert list(plan.node_order) == ["f", "s"]  # the filter still crops to its exact area in the executor


BIG_POLYGON = {"type": "Polygon", "coordinates": [[[15.5, 47.5], [16.9, 47.6], [17.0, 48.9], [15.6, 48.8], [15.5, 47.5]]]}


@pytest.mark.parametrize("restriction", [
    {"process_id": "filter_bbox", "argument": "extent", "area": {"west": 16.12, "south": 48.12, "east": 16.13, "north": 48.13}},
    {"process_id": "filter_spatial", "argument": "geometries", "area": {"type": "Polygon", "coordinates": [
        [[16.12, 48.12], [16.13, 48.12], [16.13, 48.13], [16.12, 48.13], [16.12, 48.12]]]}},
])
async def test_a_small_filter_after_a_large_polygon_load_plans_and_bills_only_the_intersection(restriction):
    from shapely.geometry import shape

    from backend_proto.v1 import compiler_pb2
    from compiler_svc import compilation
    from tests.compiler.conftest import FakeStore, as_json

    full = await compilation.compile_process(as_json({"l": load(BIG_POLYGON), "s": save("l")}), FakeStore(),
                                             purpose=compiler_pb2.PURPOSE_BATCH)
    f = node(restriction["process_id"], data=ref("l"), **{restriction["argument"]: restriction["area"]})
    g = {"l": load(BIG_POLYGON), "f": f, "s": save("f")}
    plan = await compilation.compile_process(as_json(g), FakeStore(), purpose=compiler_pb2.PURPOSE_SYNC)
    (whole,), (ld,) = full.loads, plan.loads
    assert ld.width * ld.height * 10_000 < whole.width * whole.height
    assert plan.estimated_pixels * 10_000 < full.estimated_pixels
    assert plan.estimated_processing_units < full.estimated_processing_units
    # same pixel grid as the whole polygon's, cut to the filter's area
    px = (whole.bbox.east - whole.bbox.west) / whole.width
    assert (ld.bbox.east - ld.bbox.west) / ld.width == pytest.approx(px)
    assert (ld.bbox.west - whole.bbox.west) / px == pytest.approx(round((ld.bbox.west - whole.bbox.west) / px), abs=1e-6)
    assert ld.bbox.west <= 16.12 and ld.bbox.east >= 16.13 and ld.bbox.south <= 48.12 and ld.bbox.north >= 48.13
    # Sentinel Hub masks to the polygon's part inside that area, not the whole polygon
    geometry = shape(json.loads(ld.geometry_json))
    assert geometry.area < 0.001 and shape(BIG_POLYGON).contains(geometry)
    assert json.loads(plan.process_json)["process_graph"]["l"]["arguments"]["spatial_extent"] == BIG_POLYGON
    assert list(plan.node_order) == ["f", "s"]  # the filter still crops to its exact area in the executor


async def test_a_filter_outside_a_polygon_load_keeps_the_polygon():
    from backend_proto.v1 import compiler_pb2
    from compiler_svc import compilation
    from tests.compiler.conftest import FakeStore, as_json

    far = {"west": 10.0, "south": 40.0, "east": 10.01, "north": 40.01}
    small = {"type": "Polygon", "coordinates": [[[16.1, 48.1], [16.11, 48.1], [16.11, 48.11], [16.1, 48.11], [16.1, 48.1]]]}
    alone = await compilation.compile_process(as_json({"l": load(small), "s": save("l")}), FakeStore(), purpose=compiler_pb2.PURPOSE_SYNC)
    g = {"l": load(small), "f": node("filter_bbox", data=ref("l"), extent=far), "s": save("f")}
    plan = await compilation.compile_process(as_json(g), FakeStore(), purpose=compiler_pb2.PURPOSE_SYNC)
    assert plan.loads[0].geometry_json == alone.loads[0].geometry_json
    assert (plan.loads[0].width, plan.loads[0].height) == (alone.loads[0].width, alone.loads[0].height)
