"""Bad input refused before work: graph size, node ids, invalid Unicode, dates without data,
plans larger than a gRPC message (issue 21)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from backend_proto.v1 import compiler_pb2
from backend_common.errors import OpenEOError
from compiler_svc import compilation
from compiler_svc.config import PlanningSettings
from compiler_svc.servicer import CompilerServicer
from tests.compiler.conftest import FakeStore, as_json, load, reducer, save


def chain(n: int) -> dict:
    """`n` nodes: a constant and n - 1 `add`s after it."""
    graph = {"n0": {"process_id": "add", "arguments": {"x": 1, "y": 1}}}
    for i in range(1, n):
        graph[f"n{i}"] = {"process_id": "add", "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1}}
    graph[f"n{n - 1}"]["result"] = True
    return graph


async def test_graph_over_the_node_limit_is_refused_before_validation_and_planning(monkeypatch):
    settings = PlanningSettings(max_nodes=1000)
    text = as_json(chain(100_000))  # the 8.6 MB graph of the issue

    def no_work(*args, **kwargs):
        raise AssertionError("validated or planned a graph above the node limit")

    with monkeypatch.context() as patched:
        patched.setattr(compilation, "validate_process", no_work)
        patched.setattr(compilation, "plan", no_work)
        started = time.perf_counter()
        problems = await compilation.validate_all(text, FakeStore(), settings=settings)
        with pytest.raises(OpenEOError) as err:
            await compilation.compile_process(text, FakeStore(), settings=settings)
        elapsed = time.perf_counter() - started
    assert [p.code for p in problems] == ["ProcessGraphComplexity"]
    assert err.value.code == "ProcessGraphComplexity" and err.value.status == 400
    assert "1000 nodes" in err.value.message
    assert elapsed < 20, f"refusing took {elapsed:.2f}s"  # parsing only (a second on a busy 2-core host)
    assert await compilation.validate_all(as_json(chain(1000)), FakeStore(), settings=settings) == []


async def test_callbacks_and_user_defined_processes_count_as_nodes():
    settings = PlanningSettings(max_nodes=50)
    callback = {"process_graph": chain(30)}
    graph = {"l": load(), "a": {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": callback}},
             "b": {"process_id": "apply", "arguments": {"data": {"from_node": "a"}, "process": callback}}, "s": save("b")}
    problems = await compilation.validate_all(as_json(graph), FakeStore(), settings=settings)
    assert [p.code for p in problems] == ["ProcessGraphComplexity"]

    udp = {"id": "big", "process_graph": chain(40)}
    graph = {"u": {"process_id": "big", "arguments": {}}, "v": {"process_id": "add", "arguments": {"x": {"from_node": "u"}, "y": 1}, "result": True}}
    problems = await compilation.validate_all(as_json(chain(20) | {"u": graph["u"]}), FakeStore({"big": udp}), settings=settings)
    assert [p.code for p in problems] == ["ProcessGraphComplexity"]


async def test_long_node_ids_and_invalid_unicode_are_refused():
    graph = {"x" * 300: {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    problems = await compilation.validate_all(as_json(graph), FakeStore())
    assert [p.code for p in problems] == ["ProcessGraphInvalid"]
    # stored before the gateway refused it: a node id and a text with an unpaired surrogate
    for text in ('{"process_graph": {"a\\ud83d": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": true}}}',
                 '{"description": "\\ud83d", "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": true}}}'):
        problems = await compilation.validate_all(text, FakeStore())
        assert [p.code for p in problems] == ["ProcessGraphInvalid"]
        reply = await CompilerServicer().ValidateUserProcess(compiler_pb2.CompileRequest(process_json=text), None)
        reply.SerializeToString()  # would raise on a lone surrogate in a message
        assert [e.code for e in reply.errors] == ["ProcessGraphInvalid"]


@pytest.mark.parametrize("temporal", [("9999-01-01", "9999-12-31"), ("2999-01-01", None)])
async def test_temporal_extent_after_the_data_is_refused(temporal):
    problems = await compilation.validate_all(as_json({"l": load(temporal=temporal), "s": save("l")}), FakeStore())
    assert [(p.code, p.parameter) for p in problems] == [("ProcessParameterInvalid", "temporal_extent")]
    assert "ongoing" in problems[0].message


async def test_an_open_end_far_in_the_future_asks_only_up_to_now():
    plan = await compilation.compile_process(as_json({"l": load(temporal=("2024-06-01", "9999-12-31")), "s": save("l")}),
                                             FakeStore())
    to = datetime.fromisoformat(plan.loads[0].time_to.replace("Z", "+00:00"))
    assert to <= datetime.now(timezone.utc)


def test_the_node_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("COMPILER_MAX_NODES", "123")
    assert PlanningSettings.from_env().max_nodes == 123
    assert PlanningSettings().max_nodes == 10_000


async def test_a_plan_larger_than_a_grpc_message_is_a_complexity_error(monkeypatch):
    from compiler_svc import servicer

    monkeypatch.setattr(servicer, "MAX_PLAN_BYTES", 100)
    request = compiler_pb2.CompileRequest(process_json=as_json({"l": load(), "s": save("l")}))
    with pytest.raises(OpenEOError) as err:
        await CompilerServicer().Compile(request, None)
    assert (err.value.code, err.value.status) == ("ProcessGraphComplexity", 400)


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1" * 30, "1e999"])
async def test_stored_graphs_with_non_standard_numbers_are_invalid_not_internal(value):
    """Jobs stored before the gateway was strict reach the compiler again (estimate, batch run)."""
    text = '{"process_graph": {"a": {"process_id": "add", "arguments": {"x": ' + value + ', "y": 2}, "result": true}}}'
    problems = await compilation.validate_all(text, FakeStore())
    assert [p.code for p in problems] == ["ProcessGraphInvalid"]
    with pytest.raises(OpenEOError) as err:
        await compilation.compile_process(text, FakeStore())
    assert (err.value.code, err.value.status) == ("ProcessGraphInvalid", 400)
