"""Run every example of every implemented process from the official openEO 1.x JSON definitions.

Each example is evaluated through the graph evaluator as a one-node process graph (so callbacks
in examples, e.g. ``count``'s condition, exercise the callback machinery too).
"""

from __future__ import annotations

import math

import pytest

from tests.graph_runner import evaluate
from executor_svc.processes import ProcessError, implemented_process_ids

from .spec import load_specs

SPECS = load_specs()
IMPLEMENTED = set(implemented_process_ids(hooks=["load_result"]))


def _references_parameter(value) -> bool:
    if isinstance(value, dict):
        if "from_parameter" in value and len(value) == 1:
            return True
        if "process_graph" in value:
            return False
        return any(_references_parameter(v) for v in value.values())
    if isinstance(value, list):
        return any(_references_parameter(v) for v in value)
    return False


def _normalise_callbacks(value):
    # Some examples give a callback as a bare process graph ({"gt": {"process_id": ...}}).
    if isinstance(value, dict) and value and all(isinstance(v, dict) and "process_id" in v for v in value.values()):
        return {"process_graph": value}
    return value


def _examples():
    for pid, spec in sorted(SPECS.items()):
        if pid not in IMPLEMENTED:
            continue
        for i, ex in enumerate(spec.get("examples") or []):
            args = ex.get("arguments", {})
            if _references_parameter(args) or ("returns" not in ex and "throws" not in ex):
                continue
            yield pytest.param(pid, args, ex, id=f"{pid}-{i}")


def _same(actual, expected) -> bool:
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return actual is expected or (isinstance(actual, bool) and actual == expected)
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and math.isclose(
            actual, expected, rel_tol=1e-9, abs_tol=1e-9
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(_same, actual, expected))
    return actual == expected


EXAMPLES = list(_examples())


def test_spec_definitions_found():
    assert len([s for s in SPECS.values() if not s["_proposal"]]) == 108
    assert len(EXAMPLES) > 250


@pytest.mark.parametrize("pid,args,example", EXAMPLES)
def test_spec_example(pid, args, example):
    graph = {"n": {"process_id": pid, "arguments": {k: _normalise_callbacks(v) for k, v in args.items()}, "result": True}}
    if "throws" in example:
        with pytest.raises(ProcessError) as err:
            evaluate(graph)
        assert err.value.code == example["throws"]
        return
    actual = evaluate(graph)
    assert _same(actual, example["returns"]), f"{pid}({args}) = {actual!r}, expected {example['returns']!r}"
