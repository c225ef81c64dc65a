"""What the plan tells the executor so that it decides nothing itself: the evaluation order
(callbacks included), the strategy, the result sources, the output format and whether a batch
job may split it spatially."""

import json

import pytest

from backend_proto.v1 import compiler_pb2
from compiler_svc import compilation as core, output_formats
from compiler_svc.planning.execution_order import executor_graph, needed_order, ordered_callbacks
from compiler_svc.planning.result_sources import job_id_of
from compiler_svc.problems import ProblemError
from tests.compiler.conftest import FakeStore, as_json, load, save


async def compile_(graph, purpose=compiler_pb2.PURPOSE_SYNC, **kw):
    return await core.compile_process(as_json(graph), FakeStore(), purpose=purpose, **kw)


def add(x, y=1, result=False):
    return {"process_id": "add", "arguments": {"x": x, "y": y}, **({"result": True} if result else {})}


def test_needed_order_is_dependencies_first_without_unused_or_seeded_nodes():
    graph = {"c": add([{"from_node": "a"}, {"from_node": "b"}], result=True), "unused": add(1),
             "b": add({"from_node": "a"}), "a": add({"from_node": "seed"}), "seed": add(0)}
    assert needed_order(graph, "c") == ["seed", "a", "b", "c"]
    assert needed_order(graph, "c", {"seed"}) == ["a", "b", "c"]
    assert needed_order(graph, "c", {"a"}) == ["b", "c"]
    assert needed_order(graph, "c", {"c"}) == []
    chain = {"n0": add(1)} | {f"n{i}": add({"from_node": f"n{i - 1}"}) for i in range(1, 20_000)}
    assert needed_order(chain, "n19999") == [f"n{i}" for i in range(20_000)]  # no recursion limit


def test_callbacks_are_pruned_and_ordered_with_their_result_last():
    callback = {"process_graph": {"r": add({"from_node": "m"}, result=True),
                                  "dead": add(1),
                                  "m": add({"from_parameter": "x"}, 2)}}
    node = {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": callback}}
    ordered = ordered_callbacks(node)["arguments"]["process"]["process_graph"]
    assert list(ordered) == ["m", "r"]
    nested = {"process_id": "apply", "arguments": {"process": {"process_graph": {
        "outer": {"process_id": "array_apply", "arguments": {"data": [1], "process": callback}, "result": True}}}}}
    inner = executor_graph({"n": nested}, ["n"])["n"]["arguments"]["process"]["process_graph"]["outer"]
    assert list(inner["arguments"]["process"]["process_graph"]) == ["m", "r"]


async def test_plan_order_and_graph_hold_only_what_the_executor_evaluates():
    kernel = {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "n"}, "kernel": [[1]]}}
    graph = {"l": load(), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
             "k": kernel, "unused": add(1), "s": save("k")}
    plan = await compile_(graph)
    (ld,) = plan.loads
    assert ld.result_node_id == "n" and list(plan.node_order) == ["k", "s"]
    assert list(json.loads(plan.graph_json)) == ["k", "s"]
    assert plan.strategy == compiler_pb2.RESULT_STRATEGY_CUBE


async def test_strategies():
    plain = await compile_({"l": load(), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
                            "s": save("n")})
    assert plain.strategy == compiler_pb2.RESULT_STRATEGY_GTIFF_PASSTHROUGH and list(plain.node_order) == ["s"]
    prefixed = await compile_({"l": load(), "s": save("l", options={"filename_prefix": "x"})})
    assert prefixed.strategy == compiler_pb2.RESULT_STRATEGY_GTIFF_PASSTHROUGH
    lzw = await compile_({"l": load(), "s": save("l", options={"compression": "lzw"})})
    assert lzw.strategy == compiler_pb2.RESULT_STRATEGY_CUBE
    netcdf = await compile_({"l": load(), "s": save("l", fmt="netCDF")})
    assert netcdf.strategy == compiler_pb2.RESULT_STRATEGY_CUBE
    assert (netcdf.output.format, netcdf.output.media_type, netcdf.output.extension) == ("netCDF", "application/x-netcdf", "nc")


async def test_output_format_replaces_the_graphs_keeping_only_its_own_options():
    graph = {"l": load(), "s": save("l", options={"compression": "lzw"})}
    plan = await compile_(graph, output_format="jpeg")
    assert (plan.output.format, plan.output.media_type, plan.output.options_json) == ("JPEG", "image/jpeg", "{}")
    same = await compile_({"l": load(), "s": save("l", fmt="PNG", options={"scale_min": 0, "scale_max": 1})},
                          output_format="PNG")
    assert json.loads(same.output.options_json) == {"scale_min": 0, "scale_max": 1}
    with pytest.raises(ProblemError) as info:
        await compile_(graph, output_format="bmp")
    assert info.value.code == "FormatUnsupported"


async def test_no_save_result_defaults_to_gtiff_with_a_json_fallback():
    plan = await compile_({"a": add(1, 2, result=True)})
    assert plan.output.defaulted and plan.output.format == "GTiff"
    assert plan.output_if_not_raster.format == "JSON" and plan.output_if_not_raster.media_type == "application/json"
    chosen = await compile_({"l": load(), "s": save("l")})
    assert not chosen.HasField("output_if_not_raster")


async def test_format_options_are_checked_when_validating_and_planning():
    graph = {"l": load(), "s": save("l", options={"bogus": 1})}
    with pytest.raises(ProblemError) as info:
        await compile_(graph)
    assert (info.value.code, info.value.problem.node_id, info.value.problem.parameter) == (
        "ProcessParameterInvalid", "s", "options")
    problems = await core.validate_all(as_json({"l": load(), "s": save("l", fmt="JPEG", options={"quality": 0})}),
                                       FakeStore())
    assert [p.code for p in problems] == ["ProcessParameterInvalid"]


def test_file_formats_document_is_the_format_table():
    doc = output_formats.file_formats()
    assert doc["input"] == {}
    assert set(doc["output"]) == set(output_formats.MEDIA_TYPES) == set(output_formats.EXTENSIONS)
    for entry in doc["output"].values():
        assert entry["title"] and entry["gis_data_types"] and isinstance(entry["parameters"], dict)


def test_results_urls_resolve_to_job_ids():
    public = "https://openeo.example/api"
    assert job_id_of("j-0123_ab.c", public_url=public) == "j-0123_ab.c"
    assert job_id_of(f"{public}/jobs/j-1/results", public_url=public) == "j-1"
    assert job_id_of(f"{public}/jobs/j-1/results/item.json?expires=1&user=u&signature=s", public_url=public) == "j-1"
    assert job_id_of(f"{public}/jobs/j-1/results/assets/openEO.tif?expires=1", public_url=public) == "j-1"
    for bad in ("https://elsewhere.example/api/jobs/j-1/results", f"{public}/collections/x"):
        with pytest.raises(ProblemError) as info:
            job_id_of(bad, "l", public_url=public)
        assert (info.value.code, info.value.problem.node_id, info.value.problem.parameter) == (
            "ProcessParameterInvalid", "l", "id")
    with pytest.raises(ProblemError) as info:
        job_id_of("../etc", public_url=public)
    assert (info.value.code, info.value.status) == ("JobNotFound", 404)


async def test_public_url_setting_decides_which_urls_are_ours(monkeypatch):
    from compiler_svc.config import CompilerConfig

    graph = {"r": {"process_id": "load_result", "arguments": {"id": "https://other.example/jobs/j-9/results"}},
             "s": save("r")}
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "https://openeo.example/")
    with pytest.raises(ProblemError):
        await compile_(graph, settings=CompilerConfig.from_env().planning)
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "https://other.example")
    plan = await compile_(graph, settings=CompilerConfig.from_env().planning)
    assert [(s.node_id, s.job_id) for s in plan.result_sources] == [("r", "j-9")]


async def test_a_computed_load_result_stays_for_the_evaluator():
    graph = {"name": {"process_id": "text_merge", "arguments": {"data": ["j", "1"], "separator": "-"}},
             "r": {"process_id": "load_result", "arguments": {"id": {"from_node": "name"}}},
             "s": save("r")}
    plan = await compile_(graph)
    assert not plan.result_sources and list(plan.node_order) == ["name", "r", "s"]


async def test_sizes_known_before_running_are_refused_at_compile_time():
    from compiler_svc.config import PlanningSettings

    bomb = {"a": {"process_id": "array_create", "arguments": {"data": [1, 2], "repeat": 1_000_000_000}},
            "s": {"process_id": "sum", "arguments": {"data": {"from_node": "a"}}, "result": True}}
    with pytest.raises(ProblemError) as info:
        await compile_(bomb)
    assert (info.value.code, info.value.problem.node_id, info.value.problem.parameter) == (
        "ProcessGraphComplexity", "a", "repeat")
    problems = await core.validate_all(as_json(bomb), FakeStore())  # POST /validation says so too
    assert [p.code for p in problems] == ["ProcessGraphComplexity"]
    small = dict(bomb, a={"process_id": "array_create", "arguments": {"data": [1, 2], "repeat": 1000}})
    assert (await compile_(small)).node_order[-1] == "s"
    # inside a callback, with a limit from the settings
    inner = {"process_graph": {"c": {"process_id": "array_create", "arguments": {"data": [{"from_parameter": "x"}],
                                                                                 "repeat": 50}},
                               "m": {"process_id": "max", "arguments": {"data": {"from_node": "c"}}, "result": True}}}
    graph = {"l": load(), "ap": {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": inner}},
             "s": save("ap")}
    with pytest.raises(ProblemError) as info:
        await compile_(graph, settings=PlanningSettings(max_array_elements=10))
    assert info.value.problem.node_id == "ap/c"
    kernel = {"l": load(), "k": {"process_id": "apply_kernel", "arguments": {
        "data": {"from_node": "l"}, "kernel": [[1] * 301 for _ in range(301)]}}, "s": save("k")}
    with pytest.raises(ProblemError) as info:
        await compile_(kernel)
    assert (info.value.code, info.value.problem.parameter) == ("ProcessGraphComplexity", "kernel")
