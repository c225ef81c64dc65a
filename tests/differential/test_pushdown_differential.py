"""Differential test of the push-down: every graph is compiled twice (`pushdown=True`, the default,
and `pushdown=False`, where the evalscript only reads bands), both plans run through the executor's
real `PlanRunner` against the real Sentinel Hub emulator (a subprocess), and the two results must
be the same cube: same dims and labels, values equal within float32 tolerance, NaN where NaN.

Each case also asserts that the pushed-down plan absorbed the per-pixel nodes it should (and the
plain plan none of them), so the comparison can never be between two identical plans.
"""

from __future__ import annotations

import pytest

from .stack import assert_same_cube, compile_twice, ref, run


# 64 x 64 px at 10 m in UTM 33N; a month of Sentinel-2 (5-day revisit) / Sentinel-1 (6-day).
EXTENT = {"west": 500000, "south": 5000000, "east": 500640, "north": 5000640, "crs": 32633}
MONTH = ["2024-06-01", "2024-07-01"]
CLOUDY_EXTENT = {"west": 500000, "south": 5000000, "east": 506400, "north": 5006400, "crs": 32633}
CLOUDY_MONTH = ["2024-03-01", "2024-03-29"]
# the DEM is 30 m: a 64 x 64 px area of its own
DEM_EXTENT = {"west": 500000, "south": 5000000, "east": 501920, "north": 5001920, "crs": 32633}


# -- graph building ---------------------------------------------------------------------------------

def load(cid="SENTINEL2_L2A", bands=("B04", "B08"), extent=EXTENT, temporal=MONTH):
    args = {"id": cid, "spatial_extent": extent, "temporal_extent": list(temporal) if temporal else None,
            "bands": list(bands)}
    return {"process_id": "load_collection", "arguments": args}


P = {"from_parameter": "x"}
D = {"from_parameter": "data"}


def el(label):
    return {"process_id": "array_element", "arguments": {"data": D, "label": label}}


def cb(nodes: dict, result: str) -> dict:
    return {"process_graph": {k: dict(v, result=True) if k == result else v for k, v in nodes.items()}}


def reduce_(src, dim, reducer):
    return {"process_id": "reduce_dimension", "arguments": {"data": ref(src), "dimension": dim, "reducer": reducer}}


def apply_(src, process):
    return {"process_id": "apply", "arguments": {"data": ref(src), "process": process}}


def t_reducer(fn):
    return cb({"r": {"process_id": fn, "arguments": {"data": D}}}, "r")


def save(src):
    return {"process_id": "save_result", "arguments": {"data": ref(src), "format": "GTiff"}, "result": True}


def graph(**nodes):
    """Nodes in order; the last one is saved."""
    last = list(nodes)[-1]
    return dict(nodes, save=save(last))


CASES: dict[str, tuple[dict, set[str]]] = {}  # name -> (process graph, nodes the push-down must absorb)


def case(name, g, absorbed):
    CASES[name] = (g, set(absorbed))


case("ndvi", graph(l=load(), n={"process_id": "ndvi", "arguments": {"data": ref("l"), "nir": "B08", "red": "B04"}}),
     {"l", "n"})
case("ndvi_target_band", graph(l=load(), n={"process_id": "ndvi", "arguments": {
    "data": ref("l"), "nir": "B08", "red": "B04", "target_band": "NDVI"}}), {"l", "n"})
case("normalized_difference", graph(l=load(), r=reduce_("l", "bands", cb({
    "nir": el("B08"), "red": el("B04"),
    "nd": {"process_id": "normalized_difference", "arguments": {"x": ref("nir"), "y": ref("red")}}}, "nd"))),
    {"l", "r"})
case("band_math", graph(l=load(), r=reduce_("l", "bands", cb({
    "nir": el("B08"), "red": el("B04"),
    "m": {"process_id": "multiply", "arguments": {"x": ref("nir"), "y": 2}},
    "d": {"process_id": "divide", "arguments": {"x": ref("red"), "y": 3}},
    "s": {"process_id": "subtract", "arguments": {"x": ref("m"), "y": ref("d")}}}, "s"))), {"l", "r"})
case("apply_linear_scale_range", graph(l=load(), a=apply_("l", cb({"s": {"process_id": "linear_scale_range", "arguments": {
    "x": P, "inputMin": 0.05, "inputMax": 0.33, "outputMin": 0, "outputMax": 255}}}, "s"))), {"l", "a"})
case("apply_sqrt_abs_log", graph(l=load(), a=apply_("l", cb({
    "ab": {"process_id": "absolute", "arguments": {"x": P}},
    "sq": {"process_id": "sqrt", "arguments": {"x": ref("ab")}},
    "lg": {"process_id": "log", "arguments": {"x": ref("sq"), "base": 10}}}, "lg"))), {"l", "a"})
case("apply_clip_power", graph(l=load(), a=apply_("l", cb({
    "c": {"process_id": "clip", "arguments": {"x": P, "min": 0.05, "max": 0.3}},
    "p": {"process_id": "power", "arguments": {"base": ref("c"), "p": 2}}}, "p"))), {"l", "a"})
case("comparisons_if_logic", graph(l=load(), r=reduce_("l", "bands", cb({
    "nir": el("B08"), "red": el("B04"),
    # null where B08 <= 0.372 (about 40 % of the pixels, in a forest): three-valued logic on null inputs
    "big": {"process_id": "gt", "arguments": {"x": ref("nir"), "y": 0.372}},
    "nn": {"process_id": "if", "arguments": {"value": ref("big"), "accept": ref("nir")}},
    "g": {"process_id": "gt", "arguments": {"x": ref("nn"), "y": ref("red")}},
    "lo": {"process_id": "lte", "arguments": {"x": ref("red"), "y": 0.08}},
    # deltas off the 1e-4 reflectance grid: |x - y| == delta exactly is a float32 (executor) vs
    # float64 (evalscript) tie that may go either way
    "eqn": {"process_id": "eq", "arguments": {"x": ref("nir"), "y": 0.33, "delta": 0.00405}},
    "neq": {"process_id": "neq", "arguments": {"x": ref("nn"), "y": 0.33, "delta": 0.00405}},
    "both": {"process_id": "and", "arguments": {"x": ref("g"), "y": ref("lo")}},
    "either": {"process_id": "or", "arguments": {"x": ref("eqn"), "y": ref("g")}},
    "not_": {"process_id": "not", "arguments": {"x": ref("neq")}},
    "lt_": {"process_id": "lt", "arguments": {"x": ref("red"), "y": ref("nn")}},
    "gte_": {"process_id": "gte", "arguments": {"x": ref("nn"), "y": 0.33}},
    # a different power of 3 per outcome keeps every intermediate visible in the result
    "s1": {"process_id": "multiply", "arguments": {"x": ref("either"), "y": 1}},
    "s2": {"process_id": "multiply", "arguments": {"x": ref("both"), "y": 3}},
    "s3": {"process_id": "multiply", "arguments": {"x": ref("not_"), "y": 9}},
    "s4": {"process_id": "multiply", "arguments": {"x": ref("lt_"), "y": 27}},
    "s5": {"process_id": "multiply", "arguments": {"x": ref("gte_"), "y": 81}},
    "a1": {"process_id": "add", "arguments": {"x": ref("s1"), "y": ref("s2")}},
    "a2": {"process_id": "add", "arguments": {"x": ref("a1"), "y": ref("s3")}},
    "a3": {"process_id": "add", "arguments": {"x": ref("a2"), "y": ref("s4")}},
    "a4": {"process_id": "add", "arguments": {"x": ref("a3"), "y": ref("s5")}},
    "i": {"process_id": "if", "arguments": {"value": ref("either"), "accept": ref("a4"), "reject": -1}}}, "i"))),
    {"l", "r"})
def tri(prefix: str, src: str) -> dict:
    """Nodes encoding a logical value as 0 (false), 1 (true) or 2 (null), in node `<prefix>`."""
    return {
        prefix + "n": {"process_id": "not", "arguments": {"x": ref(src)}},
        prefix + "f": {"process_id": "if", "arguments": {"value": ref(prefix + "n"), "accept": 0, "reject": 2}},
        prefix: {"process_id": "if", "arguments": {"value": ref(src), "accept": 1, "reject": ref(prefix + "f")}},
    }


case("three_valued_or_and", graph(l=load(), r=reduce_("l", "bands", cb({
    "nir": el("B08"), "red": el("B04"),
    "big": {"process_id": "gt", "arguments": {"x": ref("nir"), "y": 0.372}},
    "nn": {"process_id": "if", "arguments": {"value": ref("big"), "accept": ref("nir")}},
    "g": {"process_id": "gt", "arguments": {"x": ref("nn"), "y": 0.33}},   # 1 / 0 / null
    "t": {"process_id": "gte", "arguments": {"x": ref("red"), "y": 0}},    # always 1
    "f": {"process_id": "lt", "arguments": {"x": ref("red"), "y": 0}},     # always 0
    "o1": {"process_id": "or", "arguments": {"x": ref("g"), "y": ref("f")}},   # null or false = null
    "o2": {"process_id": "or", "arguments": {"x": ref("t"), "y": ref("g")}},   # true or null = true
    "a1": {"process_id": "and", "arguments": {"x": ref("g"), "y": ref("t")}},  # null and true = null
    "a2": {"process_id": "and", "arguments": {"x": ref("f"), "y": ref("g")}},  # false and null = false
    **tri("e1", "o1"), **tri("e2", "o2"), **tri("e3", "a1"), **tri("e4", "a2"), **tri("e5", "g"),
    "m2": {"process_id": "multiply", "arguments": {"x": ref("e2"), "y": 3}},
    "m3": {"process_id": "multiply", "arguments": {"x": ref("e3"), "y": 9}},
    "m4": {"process_id": "multiply", "arguments": {"x": ref("e4"), "y": 27}},
    "m5": {"process_id": "multiply", "arguments": {"x": ref("e5"), "y": 81}},
    "s1": {"process_id": "add", "arguments": {"x": ref("e1"), "y": ref("m2")}},
    "s2": {"process_id": "add", "arguments": {"x": ref("s1"), "y": ref("m3")}},
    "s3": {"process_id": "add", "arguments": {"x": ref("s2"), "y": ref("m4")}},
    "s4": {"process_id": "add", "arguments": {"x": ref("s3"), "y": ref("m5")}}}, "s4"))), {"l", "r"})
case("mask_with_null_mask_values", graph(
    l=load(),
    cm=reduce_("l", "bands", cb({
        "nir": el("B08"),
        "big": {"process_id": "gt", "arguments": {"x": ref("nir"), "y": 0.372}},
        "nn": {"process_id": "if", "arguments": {"value": ref("big"), "accept": ref("nir")}},
        "g": {"process_id": "gt", "arguments": {"x": ref("nn"), "y": 0.33}}}, "g")),   # 1 / 0 / null
    m={"process_id": "mask", "arguments": {"data": ref("l"), "mask": ref("cm"), "replacement": -5}}),
    {"l", "cm", "m"})
case("apply_if_not", graph(l=load(), a=apply_("l", cb({
    "g": {"process_id": "gte", "arguments": {"x": P, "y": 0.1}},
    "n": {"process_id": "not", "arguments": {"x": ref("g")}},
    "i": {"process_id": "if", "arguments": {"value": ref("n"), "accept": 0, "reject": P}}}, "i"))), {"l", "a"})
# SCL clouds come in ~1 km cells: the cloud-mask cases use a 6.4 km square resampled (by Sentinel
# Hub, in both plans) to 100 m = 64 x 64 px, in a month where 6-98 % of each scene is cloudy.
def resampled(src):
    return {"process_id": "resample_spatial", "arguments": {"data": ref(src), "resolution": 100, "method": "near"}}


def scl_cloud_mask(src):
    return reduce_(src, "bands", cb({
        "s": el("SCL"),
        "e8": {"process_id": "eq", "arguments": {"x": ref("s"), "y": 8}},
        "e9": {"process_id": "eq", "arguments": {"x": ref("s"), "y": 9}},
        "e3": {"process_id": "eq", "arguments": {"x": ref("s"), "y": 3}},
        "o": {"process_id": "or", "arguments": {"x": ref("e8"), "y": ref("e9")}},
        "o2": {"process_id": "or", "arguments": {"x": ref("o"), "y": ref("e3")}}}, "o2"))


case("mask_scl_clouds", graph(
    l=load(extent=CLOUDY_EXTENT, temporal=CLOUDY_MONTH), rl=resampled("l"),
    scl=load(bands=("SCL",), extent=CLOUDY_EXTENT, temporal=CLOUDY_MONTH), rs=resampled("scl"),
    cm=scl_cloud_mask("rs"),
    m={"process_id": "mask", "arguments": {"data": ref("rl"), "mask": ref("cm")}}), {"cm", "m"})
case("reduce_bands_array_element_index", graph(l=load(bands=("B02", "B04", "B08")), r=reduce_("l", "bands", cb({
    "a": {"process_id": "array_element", "arguments": {"data": D, "index": 2}},
    "b": {"process_id": "array_element", "arguments": {"data": D, "label": "B02"}},
    "s": {"process_id": "add", "arguments": {"x": ref("a"), "y": ref("b")}}}, "s"))), {"l", "r"})
case("reduce_bands_mean", graph(l=load(bands=("B02", "B03", "B04")), r=reduce_("l", "bands", t_reducer("mean"))),
     {"l", "r"})
for _fn in ("mean", "median", "min", "max", "first", "last", "count", "sum"):
    case(f"reduce_t_{_fn}", graph(l=load(), r=reduce_("l", "t", t_reducer(_fn))), {"l", "r"})
case("ndvi_then_median_t", graph(
    l=load(), n={"process_id": "ndvi", "arguments": {"data": ref("l"), "nir": "B08", "red": "B04"}},
    r=reduce_("n", "t", t_reducer("median"))), {"l", "n", "r"})
case("masked_ndvi_max_t", graph(
    l=load(extent=CLOUDY_EXTENT, temporal=CLOUDY_MONTH), rl=resampled("l"),
    scl=load(bands=("SCL",), extent=CLOUDY_EXTENT, temporal=CLOUDY_MONTH), rs=resampled("scl"),
    cm=reduce_("rs", "bands", cb({"s": el("SCL"), "g": {"process_id": "gte", "arguments": {"x": ref("s"), "y": 8}}}, "g")),
    m={"process_id": "mask", "arguments": {"data": ref("rl"), "mask": ref("cm"), "replacement": -1}},
    n={"process_id": "ndvi", "arguments": {"data": ref("m"), "nir": "B08", "red": "B04"}},
    r=reduce_("n", "t", t_reducer("max"))), {"cm", "m", "n", "r"})
for _fn in ("median", "count", "first", "last"):
    case(f"cloud_masked_{_fn}_t", graph(
        l=load(extent=CLOUDY_EXTENT, temporal=CLOUDY_MONTH), rl=resampled("l"),
        scl=load(bands=("SCL",), extent=CLOUDY_EXTENT, temporal=CLOUDY_MONTH), rs=resampled("scl"),
        cm=scl_cloud_mask("rs"),
        m={"process_id": "mask", "arguments": {"data": ref("rl"), "mask": ref("cm")}},
        r=reduce_("m", "t", t_reducer(_fn))), {"cm", "m", "r"})
# about 40 % of the pixels masked on every date (B08 > 0.372; B08 varies little over a month): reducers over an empty
# (all-NaN) series, where null / 0 conventions of the two paths could differ
for _fn in ("count", "sum", "mean", "first"):
    case(f"self_masked_{_fn}_t", graph(
        l=load(),
        cm=reduce_("l", "bands", cb({"b": el("B08"), "g": {"process_id": "gt", "arguments": {"x": ref("b"), "y": 0.372}}}, "g")),
        m={"process_id": "mask", "arguments": {"data": ref("l"), "mask": ref("cm"), "replacement": None}},
        r=reduce_("m", "t", t_reducer(_fn))), {"l", "cm", "m", "r"})
case("dem_math", graph(
    l=load("COPERNICUS_30", ("DEM",), extent=DEM_EXTENT, temporal=None),
    a=apply_("l", cb({
        "m": {"process_id": "multiply", "arguments": {"x": P, "y": 0.5}},
        "e": {"process_id": "exp", "arguments": {"p": {"from_node": "sc"}}},
        "sc": {"process_id": "divide", "arguments": {"x": ref("m"), "y": 1000}},
        "ln": {"process_id": "ln", "arguments": {"x": ref("e")}},
        "ad": {"process_id": "add", "arguments": {"x": ref("ln"), "y": {"from_node": "pi"}}},
        "pi": {"process_id": "pi", "arguments": {}}}, "ad"))), {"l", "a"})
case("s1_vv_vh_ratio", graph(l=load("SENTINEL1_GRD", ("VV", "VH")), r=reduce_("l", "bands", cb({
    "vv": el("VV"), "vh": el("VH"),
    "q": {"process_id": "divide", "arguments": {"x": ref("vv"), "y": ref("vh")}},
    "db": {"process_id": "log", "arguments": {"x": ref("q"), "base": 10}},
    "x10": {"process_id": "multiply", "arguments": {"x": ref("db"), "y": 10}}}, "x10"))), {"l", "r"})


# what `pushdown=False` must leave to the executor (load parameters such as resample_spatial stay)
PER_PIXEL = {"ndvi", "apply", "reduce_dimension", "mask"}


def absorbed(plan) -> set[str]:
    out = set()
    for ld in plan.loads:
        out |= set(ld.absorbed_node_ids) | {ld.result_node_id}
    return out


# -- the test ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
async def test_pushdown_and_executor_agree(name, runner):
    g, must_absorb = CASES[name]
    pushed, plain = await compile_twice(g, {"pushdown": True}, {"pushdown": False})

    # the push-down really moved the per-pixel nodes into the evalscript; the plain plan did not
    assert must_absorb <= absorbed(pushed), (name, absorbed(pushed))
    assert {g[n]["process_id"] for n in must_absorb} & PER_PIXEL, "the case must exercise some per-pixel push-down"
    assert not {g[n]["process_id"] for n in absorbed(plain)} & PER_PIXEL, absorbed(plain)
    assert [ld.evalscript for ld in pushed.loads] != [ld.evalscript for ld in plain.loads]

    got = (await run(runner, pushed)).value
    want = (await run(runner, plain)).value
    assert got.size > 0
    # the evalscript's output is FLOAT32, the executor computes from FLOAT32 inputs: float32 precision
    assert_same_cube(got, want, rtol=2e-6, atol=1e-6)

