"""The edge cases of tests/process_edge_cases.py through the graph evaluator (fast; the same rows
run through the whole stack in tests/e2e/test_process_edge_cases.py)."""

from __future__ import annotations

import pytest

from executor_svc.processes import ProcessError
from tests.graph_runner import evaluate
from tests.process_edge_cases import CASES, LABELED, Error, matches


@pytest.mark.parametrize("pid, arguments, expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_edge_case(pid, arguments, expected):
    graph = {"labeled": LABELED, "c": {"process_id": pid, "arguments": arguments, "result": True}}
    if isinstance(expected, Error):
        with pytest.raises(ProcessError) as err:
            evaluate(graph)
        assert err.value.code == expected.code
        return
    actual = evaluate(graph)
    if hasattr(actual, "tolist"):
        actual = actual.tolist()
    assert matches(actual, expected), actual
