"""Edge cases of the openEO 1.2.0 process definitions (issue 20): for each process, what its text
names (no-data, NaN, infinities, empty arrays, zero divisors, inverted or equal ranges, labels that
don't exist), as (process id, arguments, expected) rows. Shared by the fast evaluator test
(tests/processes/test_edge_case_table.py) and the whole-stack test (tests/e2e/test_process_edge_cases.py),
which evaluates all rows of a process in one synchronous request.

Expected values: JSON values, or NAN / INF / NEG_INF (a JSON answer carries them as null, so the
graph also asks `is_nan`/`is_infinite`/`gt` about them), or `Error(code)` for an openEO error."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Special:
    name: str


NAN, INF, NEG_INF = Special("NaN"), Special("+inf"), Special("-inf")


@dataclass(frozen=True)
class Error:
    code: str


def _x(pid, *cases):
    return [(pid, args, expected) for args, expected in cases]


LABELED = {"process_id": "array_create_labeled", "arguments": {"data": [1, 2], "labels": ["a", "b"]}}

CASES = [
    # -- arithmetic: null propagates, zero divisors and infinities as IEEE 754 ----------------------
    *_x("add", ({"x": None, "y": 1}, None), ({"x": 1e308, "y": 1e308}, INF)),
    *_x("subtract", ({"x": 1, "y": None}, None)),
    *_x("multiply", ({"x": None, "y": 0}, None), ({"x": 1e308, "y": -10}, NEG_INF)),
    *_x("divide", ({"x": 1, "y": 0}, INF), ({"x": -1, "y": 0}, NEG_INF), ({"x": 0, "y": 0}, NAN),
        ({"x": None, "y": 0}, None), ({"x": 1, "y": None}, None)),
    *_x("mod", ({"x": None, "y": 2}, None), ({"x": 2, "y": None}, None), ({"x": -27, "y": 5}, 3),
        ({"x": 27, "y": -5}, -3)),
    *_x("power", ({"base": 0, "p": 0}, 1), ({"base": None, "p": 2}, None), ({"base": 2, "p": None}, None),
        ({"base": 0, "p": -1}, INF), ({"base": -8, "p": 0.5}, NAN)),
    *_x("absolute", ({"x": None}, None), ({"x": -0.0}, 0)),
    *_x("sgn", ({"x": None}, None), ({"x": 0}, 0), ({"x": -0.5}, -1)),
    *_x("sqrt", ({"x": None}, None), ({"x": -1}, NAN), ({"x": 0}, 0)),
    *_x("exp", ({"p": None}, None), ({"p": 1000}, INF)),
    *_x("ln", ({"x": None}, None), ({"x": 0}, NEG_INF), ({"x": -1}, NAN)),
    *_x("log", ({"x": None, "base": 10}, None), ({"x": 100, "base": None}, None), ({"x": 0, "base": 10}, NEG_INF),
        ({"x": 1, "base": 1}, NAN)),
    *_x("ceil", ({"x": None}, None), ({"x": -0.5}, 0)),
    *_x("floor", ({"x": None}, None), ({"x": -0.5}, -1)),
    *_x("int", ({"x": None}, None), ({"x": -5.9}, -5)),
    *_x("round", ({"x": None}, None), ({"x": 0.5}, 0), ({"x": 1.5}, 2), ({"x": -2.5}, -2),
        ({"x": 1234.5, "p": -2}, 1200), ({"x": 0.125, "p": 2}, 0.12)),
    *_x("clip", ({"x": None, "min": 0, "max": 1}, None), ({"x": -1, "min": 0, "max": 1}, 0), ({"x": 5, "min": 0, "max": 1}, 1)),
    *_x("linear_scale_range", ({"x": None, "inputMin": 0, "inputMax": 1}, None),
        ({"x": 0.25, "inputMin": 1, "inputMax": 0, "outputMin": 0, "outputMax": 100}, 75),
        ({"x": 5, "inputMin": 0, "inputMax": 1, "outputMin": 10, "outputMax": 0}, 0)),
    *_x("normalized_difference", ({"x": 0, "y": 0}, NAN), ({"x": 1, "y": -1}, INF)),
    *_x("arctan2", ({"y": 0, "x": 0}, 0), ({"y": None, "x": 1}, None)),
    *_x("arccos", ({"x": None}, None), ({"x": 2}, NAN)),
    *_x("arcsin", ({"x": None}, None), ({"x": -2}, NAN)),
    *_x("arcosh", ({"x": None}, None), ({"x": 0}, NAN)),
    *_x("artanh", ({"x": None}, None), ({"x": 1}, INF)),
    *_x("arctan", ({"x": None}, None)),
    *_x("arsinh", ({"x": None}, None)),
    *_x("cos", ({"x": None}, None)),
    *_x("cosh", ({"x": None}, None)),
    *_x("sin", ({"x": None}, None)),
    *_x("sinh", ({"x": None}, None)),
    *_x("tan", ({"x": None}, None)),
    *_x("tanh", ({"x": None}, None)),
    # -- comparisons and logic ----------------------------------------------------------------------
    *_x("eq", ({"x": None, "y": None}, None), ({"x": 1, "y": "1"}, False), ({"x": 1, "y": 1.0}, True),
        ({"x": "A", "y": "a", "case_sensitive": False}, True), ({"x": 1, "y": 1.05, "delta": 0.1}, True),
        ({"x": "2018-01-01T00:00:00Z", "y": "2018-01-01T00:00:00+00:00"}, True)),
    *_x("neq", ({"x": None, "y": None}, None), ({"x": 1, "y": "1"}, True), ({"x": 1, "y": 1.05, "delta": 0.1}, False)),
    *_x("gt", ({"x": None, "y": 0}, None), ({"x": "b", "y": "a"}, False), ({"x": "2018-01-02", "y": "2018-01-01"}, True)),
    *_x("gte", ({"x": None, "y": None}, None), ({"x": True, "y": True}, True), ({"x": "a", "y": 1}, False)),
    *_x("lt", ({"x": 0, "y": None}, None), ({"x": False, "y": True}, False)),
    *_x("lte", ({"x": None, "y": None}, None), ({"x": "a", "y": "a"}, True)),
    *_x("between", ({"x": None, "min": 0, "max": 1}, None), ({"x": 0.5, "min": 1, "max": 0}, False),
        ({"x": 1, "min": 0, "max": 1, "exclude_max": True}, False), ({"x": 1, "min": 1, "max": 1}, True)),
    *_x("and", ({"x": None, "y": False}, False), ({"x": None, "y": True}, None)),
    *_x("or", ({"x": None, "y": True}, True), ({"x": None, "y": False}, None)),
    *_x("xor", ({"x": None, "y": True}, None), ({"x": True, "y": True}, False)),
    *_x("not", ({"x": None}, None)),
    *_x("if", ({"value": None, "accept": 1, "reject": 2}, 2), ({"value": False, "accept": 1}, None)),
    *_x("is_nan", ({"x": "text"}, True), ({"x": None}, True), ({"x": [1]}, True), ({"x": 1}, False)),
    *_x("is_nodata", ({"x": None}, True), ({"x": 0}, False)),
    *_x("is_valid", ({"x": None}, False), ({"x": 0}, True), ({"x": "x"}, True)),
    *_x("is_infinite", ({"x": None}, False), ({"x": 1}, False)),
    # -- reducers on arrays: empty arrays, all no-data, ignore_nodata --------------------------------
    *_x("all", ({"data": []}, None), ({"data": [None]}, None), ({"data": [True, None]}, True),
        ({"data": [True, None], "ignore_nodata": False}, None), ({"data": [False, None], "ignore_nodata": False}, False)),
    *_x("any", ({"data": []}, None), ({"data": [False, None]}, False), ({"data": [False, None], "ignore_nodata": False}, None),
        ({"data": [True, None], "ignore_nodata": False}, True)),
    *_x("count", ({"data": []}, 0), ({"data": [None, 1, "a"]}, 2), ({"data": [None, 1], "condition": True}, 2)),
    *_x("first", ({"data": []}, None), ({"data": [None, 1]}, 1), ({"data": [None, 1], "ignore_nodata": False}, None)),
    *_x("last", ({"data": []}, None), ({"data": [1, None]}, 1), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("max", ({"data": []}, None), ({"data": [None, None]}, None), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("min", ({"data": []}, None), ({"data": [None, 3]}, 3), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("mean", ({"data": []}, None), ({"data": [None, 3]}, 3), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("median", ({"data": []}, None), ({"data": [None, 3, 1]}, 2), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("sum", ({"data": []}, None), ({"data": [None, 3]}, 3), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("product", ({"data": []}, None), ({"data": [None, 3]}, 3), ({"data": [2, None], "ignore_nodata": False}, None)),
    *_x("sd", ({"data": []}, None), ({"data": [None, None]}, None), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("variance", ({"data": []}, None), ({"data": [None]}, None), ({"data": [1, None], "ignore_nodata": False}, None)),
    *_x("extrema", ({"data": []}, [None, None]), ({"data": [None, 2, 1]}, [1, 2]),
        ({"data": [None, 2], "ignore_nodata": False}, [None, None])),
    *_x("quantiles", ({"data": [], "probabilities": [0.5, 0.75]}, [None, None]), ({"data": [], "q": 4}, [None, None, None]),
        ({"data": [1, None], "probabilities": [0.5], "ignore_nodata": False}, [None])),
    *_x("cummax", ({"data": []}, []), ({"data": [1, None, 3, 2]}, [1, None, 3, 3]),
        ({"data": [1, None, 3], "ignore_nodata": False}, [1, None, None])),
    *_x("cummin", ({"data": [3, None, 1, 2]}, [3, None, 1, 1])),
    *_x("cumsum", ({"data": [1, None, 3]}, [1, None, 4]), ({"data": [1, None, 3], "ignore_nodata": False}, [1, None, None])),
    *_x("cumproduct", ({"data": [2, None, 3]}, [2, None, 6])),
    # -- arrays: labels and indices that don't exist, empty arrays -----------------------------------
    *_x("array_element", ({"data": [1, 2], "index": 5}, Error("ArrayElementNotAvailable")),
        ({"data": [1, 2], "index": 5, "return_nodata": True}, None),
        ({"data": [1, 2], "label": "a"}, Error("ArrayNotLabeled")),
        ({"data": {"from_node": "labeled"}, "label": "c", "return_nodata": True}, None)),
    *_x("array_find", ({"data": [1, None], "value": None}, 1), ({"data": [], "value": 1}, None),
        ({"data": [1, "1"], "value": "1"}, 1), ({"data": [1, 1], "value": 1, "reverse": True}, 1)),
    *_x("array_contains", ({"data": [None], "value": None}, True), ({"data": [], "value": 1}, False),
        ({"data": [[1]], "value": [1]}, False)),
    *_x("array_find_label", ({"data": {"from_node": "labeled"}, "label": "c"}, None),
        ({"data": [1, 2], "label": "a"}, None), ({"data": {"from_node": "labeled"}, "label": "b"}, 1)),
    *_x("array_labels", ({"data": [5, 6]}, [0, 1]), ({"data": []}, [])),
    *_x("array_create", ({"data": [], "repeat": 3}, []), ({"data": [1], "repeat": 0}, Error("ProcessParameterInvalid"))),
    *_x("array_concat", ({"array1": [], "array2": []}, [])),
    *_x("array_append", ({"data": [], "value": None}, [None])),
    *_x("array_modify", ({"data": [1, 2], "values": [9], "index": 5}, Error("ArrayElementNotAvailable")),
        ({"data": [1, 2], "values": [], "index": 0, "length": 1}, [2]), ({"data": [1, 2], "values": [9], "index": 2, "length": 0}, [1, 2, 9])),
    *_x("array_interpolate_linear", ({"data": [None, 1, None, 3, None]}, [None, 1, 2, 3, None]), ({"data": []}, [])),
    *_x("array_filter", ({"data": [], "condition": {"process_graph": {"g": {"process_id": "gt", "arguments": {
        "x": {"from_parameter": "x"}, "y": 0}, "result": True}}}}, [])),
    *_x("array_apply", ({"data": [], "process": {"process_graph": {"a": {"process_id": "absolute", "arguments": {
        "x": {"from_parameter": "x"}}, "result": True}}}}, []),
        ({"data": [None, -1], "process": {"process_graph": {"a": {"process_id": "absolute", "arguments": {
            "x": {"from_parameter": "x"}}, "result": True}}}}, [None, 1])),
    *_x("order", ({"data": []}, []), ({"data": [2, None, 1]}, [2, 0]), ({"data": [2, None, 1], "nodata": True}, [2, 0, 1]),
        ({"data": [2, None, 1], "nodata": False}, [1, 2, 0])),
    *_x("sort", ({"data": []}, []), ({"data": [2, None, 1]}, [1, 2]), ({"data": [2, None, 1], "nodata": True}, [1, 2, None]),
        ({"data": [2, None, 1], "asc": False, "nodata": False}, [None, 2, 1])),
    *_x("rearrange", ({"data": [], "order": []}, [])),
    # -- text and constants --------------------------------------------------------------------------
    *_x("text_begins", ({"data": None, "pattern": "a"}, None), ({"data": "Abc", "pattern": "a", "case_sensitive": False}, True)),
    *_x("text_ends", ({"data": None, "pattern": "a"}, None), ({"data": "abc", "pattern": ""}, True)),
    *_x("text_contains", ({"data": None, "pattern": "a"}, None), ({"data": "", "pattern": ""}, True)),
    *_x("text_merge", ({"data": []}, ""), ({"data": ["a", None, 1, True, 1.5], "separator": "-"}, "a-null-1-true-1.5")),
    *_x("constant", ({"x": None}, None)),
    *_x("pi", ({}, math.pi)),
    *_x("e", ({}, math.e)),
    *_x("nan", ({}, NAN)),
    *_x("inspect", ({"data": None}, None), ({"data": []}, [])),
    *_x("array_create_labeled", ({"data": [1, 2], "labels": ["a"]}, Error("ArrayLengthMismatch"))),
    *_x("date_shift", ({"date": "2020-02-29", "value": 1, "unit": "year"}, "2021-02-28"),
        ({"date": "2020-01-31", "value": 1, "unit": "month"}, "2020-02-29"), ({"date": "2020-03-01", "value": -1, "unit": "day"}, "2020-02-29")),
]


def is_special(value) -> bool:
    return isinstance(value, Special)


def matches(actual, expected) -> bool:
    """A JSON-level comparison: numbers within 1e-9, NaN/infinities by kind (for local results)."""
    if expected is NAN and actual is None:
        return True  # a number that is NaN is no-data (null) in this back-end: README, deviations
    if isinstance(expected, Special):
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            return False
        return {"NaN": math.isnan, "+inf": lambda v: v == math.inf, "-inf": lambda v: v == -math.inf}[expected.name](actual)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return actual is expected if not isinstance(expected, str) else actual == expected
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and math.isclose(actual, expected, abs_tol=1e-9)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(matches(a, e) for a, e in zip(actual, expected))
    return actual == expected


def graph_of(rows: list[tuple[str, dict, object]]) -> dict:
    """One process graph evaluating every (non-error) row into one JSON array: for each row its
    value, and for NaN / infinities a classification (is_nan; is_infinite and gt 0) as the value
    itself reaches JSON as null. `expected_json(rows)` is what the array must be."""
    graph: dict = {"labeled": LABELED}
    items = []
    for i, (pid, args, expected) in enumerate(rows):
        node = f"c{i}"
        graph[node] = {"process_id": pid, "arguments": args}
        items.append({"from_node": node})
        if expected is NAN:
            graph[node + "n"] = {"process_id": "is_nan", "arguments": {"x": {"from_node": node}}}
            items.append({"from_node": node + "n"})
        elif expected is INF or expected is NEG_INF:
            graph[node + "i"] = {"process_id": "is_infinite", "arguments": {"x": {"from_node": node}}}
            graph[node + "p"] = {"process_id": "gt", "arguments": {"x": {"from_node": node}, "y": 0}}
            items += [{"from_node": node + "i"}, {"from_node": node + "p"}]
    graph["all"] = {"process_id": "array_create", "arguments": {"data": items}, "result": True}
    return graph


def expected_json(rows) -> list:
    out = []
    for _, _, expected in rows:
        if expected is NAN:
            out += [None, True]
        elif expected is INF:
            out += [None, True, True]
        elif expected is NEG_INF:
            out += [None, True, False]
        else:
            out.append(expected)
    return out
