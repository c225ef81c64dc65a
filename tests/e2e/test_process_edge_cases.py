"""Issue 20 "Beyond these": every edge case of tests/process_edge_cases.py through the whole stack
(gateway → compiler → executor), as few synchronous requests: the rows of a chunk of processes are
evaluated into one JSON array; each row that must fail is one request answering its openEO error."""

from __future__ import annotations

import json

import pytest
import requests

from tests.process_edge_cases import CASES, Error, expected_json, graph_of, matches

ROWS = [row for row in CASES if not isinstance(row[2], Error)]
ERRORS = [row for row in CASES if isinstance(row[2], Error)]
CHUNK = 45


def _post(stack, connection, graph: dict) -> requests.Response:
    return requests.post(stack.gateway_url + "/result", json={"process": {"process_graph": graph}},
                         headers={"Authorization": f"Bearer {connection.auth.bearer}"}, timeout=180)


@pytest.mark.parametrize("start", range(0, len(ROWS), CHUNK))
def test_edge_cases_through_the_stack(stack, connection, start):
    rows = ROWS[start:start + CHUNK]
    resp = _post(stack, connection, graph_of(rows))
    assert resp.status_code == 200, resp.text
    actual, expected = resp.json(), expected_json(rows)
    assert isinstance(actual, list) and len(actual) == len(expected), actual
    # walk the flat answer row by row, so that a failure names the process and its arguments
    wrong, i = [], 0
    for pid, arguments, _ in rows:
        width = len(expected_json([(pid, arguments, _)]))
        got, want = actual[i:i + width], expected[i:i + width]
        if not all(matches(g, w) for g, w in zip(got, want)):
            wrong.append(f"{pid}({json.dumps(arguments)}) = {got}, expected {want}")
        i += width
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("pid, arguments, expected", ERRORS, ids=[f"{r[0]}-{r[2].code}" for r in ERRORS])
def test_edge_cases_that_are_openeo_errors(stack, connection, pid, arguments, expected):
    resp = _post(stack, connection, {"c": {"process_id": pid, "arguments": arguments, "result": True}})
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert body["code"] == expected.code and body["message"] and body["id"], body


# -- cubes: dimensions and labels that don't exist -----------------------------------------------------

_LOAD = {"process_id": "load_collection", "arguments": {
    "id": "SENTINEL2_L2A", "spatial_extent": {"west": 14.0, "south": 46.0, "east": 14.002, "north": 46.002},
    "temporal_extent": ["2024-06-01", "2024-06-11"], "bands": ["B04", "B08"]}}
_MEAN = {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}

CUBE_ERRORS = [
    ("rename_labels", {"dimension": "bands", "target": ["red"], "source": ["B02"]}, "LabelNotAvailable"),
    ("rename_dimension", {"source": "nope", "target": "other"}, "DimensionNotAvailable"),
    ("drop_dimension", {"name": "nope"}, "DimensionNotAvailable"),
    ("reduce_dimension", {"dimension": "nope", "reducer": _MEAN}, "DimensionNotAvailable"),
    ("apply_dimension", {"dimension": "nope", "process": _MEAN}, "DimensionNotAvailable"),
    ("dimension_labels", {"dimension": "nope"}, "DimensionNotAvailable"),
    ("aggregate_temporal_period", {"period": "month", "reducer": _MEAN, "dimension": "nope"}, "DimensionNotAvailable"),
]


@pytest.mark.parametrize("pid, arguments, code", CUBE_ERRORS, ids=[f"{r[0]}-{r[2]}" for r in CUBE_ERRORS])
def test_cube_edge_cases_are_openeo_errors(stack, connection, pid, arguments, code):
    graph = {"load": _LOAD, "p": {"process_id": pid, "arguments": {"data": {"from_node": "load"}, **arguments}}}
    save_of = "p"
    graph["save"] = {"process_id": "save_result", "arguments": {"data": {"from_node": save_of}, "format": "netCDF"}, "result": True}
    if pid == "dimension_labels":
        del graph["save"]
        graph["p"]["result"] = True
    resp = _post(stack, connection, graph)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["code"] == code, resp.text


def _on_load(pid: str, **arguments) -> dict:
    return {"a": _LOAD, "m": {"process_id": pid, "arguments": {"data": {"from_node": "a"}, **arguments}}}


MORE_CUBE_ERRORS = {
    # overlapping cubes without a resolver, labels and periods without data, mismatching label lists
    "merge_cubes-OverlapResolverMissing": ({"a": _LOAD, "b": _LOAD, "m": {"process_id": "merge_cubes", "arguments": {
        "cube1": {"from_node": "a"}, "cube2": {"from_node": "b"}}}}, "OverlapResolverMissing"),
    "filter_bands-LabelNotAvailable": (_on_load("filter_bands", bands=["B99"]), "LabelNotAvailable"),
    "filter_temporal-inverted": (_on_load("filter_temporal", extent=["2024-06-10", "2024-06-01"]), "ProcessParameterInvalid"),
    "filter_temporal-no-acquisition": (_on_load("filter_temporal", extent=["2024-06-02", "2024-06-03"]), "NoDataAvailable"),
    "filter_labels-no-match": (_on_load("filter_labels", dimension="bands", condition={"process_graph": {"e": {
        "process_id": "eq", "arguments": {"x": {"from_parameter": "value"}, "y": "B99"}, "result": True}}}), "NoDataAvailable"),
    "aggregate_temporal-labels-and-intervals": (_on_load("aggregate_temporal", intervals=[["2024-06-01", "2024-06-05"]],
                                                         labels=["x", "y"], reducer=_MEAN), "DistinctDimensionLabelsRequired"),
    "rename_labels-LabelMismatch": (_on_load("rename_labels", dimension="bands", target=["r"], source=["B04", "B08"]), "LabelMismatch"),
    "add_dimension-DimensionExists": (_on_load("add_dimension", name="bands", label="x"), "DimensionExists"),
}


@pytest.mark.parametrize("name", sorted(MORE_CUBE_ERRORS))
def test_more_cube_edge_cases_are_openeo_errors(stack, connection, name):
    graph, code = MORE_CUBE_ERRORS[name]
    graph = {**graph, "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "m"}, "format": "netCDF"}, "result": True}}
    resp = _post(stack, connection, graph)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["code"] == code, resp.text
