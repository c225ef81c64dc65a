"""Mutated process graphs through the whole stack: every answer is a result or an openEO error
(id, code, message) with a 4xx status, never a 5xx. The seed is fixed, so a failure repeats; the
mutations replace, drop or add values anywhere in four valid graphs with values of the wrong type
or shape (this is how the compiler's crashes on non-string references and malformed bounding
boxes were found)."""

from __future__ import annotations

import copy
import json
import random

import pytest
import requests

EXTENT = {"west": 14.0, "south": 46.0, "east": 14.01, "north": 46.01}
MEDIAN = {"process_graph": {"m": {"process_id": "median", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}
GRAPHS = [
    {"l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": EXTENT,
                                                          "temporal_extent": ["2024-06-01", "2024-06-15"], "bands": ["B04", "B08"]}},
     "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}, "nir": "B08", "red": "B04"}},
     "r": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "n"}, "dimension": "t", "reducer": MEDIAN}},
     "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "r"}, "format": "GTiff"}, "result": True}},
    {"a": {"process_id": "add", "arguments": {"x": 1, "y": {"from_node": "b"}}, "result": True},
     "b": {"process_id": "multiply", "arguments": {"x": 2, "y": 3}}},
    {"l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": EXTENT,
                                                          "temporal_extent": ["2024-06-01", "2024-06-15"], "bands": ["B04"]}},
     "g": {"process_id": "aggregate_spatial", "arguments": {
         "data": {"from_node": "l"}, "geometries": {"type": "Point", "coordinates": [14.005, 46.005]},
         "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}}},
     "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "g"}, "format": "JSON"}, "result": True}},
    {"l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL1_GRD", "spatial_extent": EXTENT,
                                                          "temporal_extent": ["2024-06-01", "2024-06-15"], "bands": ["VV"]}},
     "b": {"process_id": "sar_backscatter", "arguments": {"data": {"from_node": "l"}, "coefficient": "sigma0-ellipsoid"}},
     "a": {"process_id": "apply", "arguments": {"data": {"from_node": "b"}, "process": {"process_graph": {
         "x": {"process_id": "log", "arguments": {"x": {"from_parameter": "x"}, "base": 10}, "result": True}}}}},
     "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "a"}, "format": "netCDF"}, "result": True}},
]
ODD = [None, 0, -1, 1e308, -1e308, "", "x", "B99", [], {}, [1, 2], {"from_node": "zz"}, {"from_parameter": "qq"},
       {"from_node": [None]}, True, "2024-13-45", "x" * 3000, [None, None], {"west": 1}, 1.5, "EPSG:4326"]


def _paths(obj, prefix=()):
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from _paths(value, prefix + (key,))


def mutated(rng: random.Random) -> dict:
    graph = copy.deepcopy(rng.choice(GRAPHS))
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(list(_paths(graph)))
        parent = graph
        for key in path[:-1]:
            parent = parent[key]
        odd = copy.deepcopy(rng.choice(ODD))
        roll = rng.random()
        if roll < 0.6:
            parent[path[-1]] = odd
        elif roll < 0.8 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[f"{path[-1]}_extra"] = odd
    return graph


@pytest.mark.parametrize("seed", [11, 12])
def test_mutated_graphs_get_results_or_openeo_errors(stack, connection, seed):
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {connection.auth.bearer}", "Content-Type": "application/json"}
    statuses: dict[int, int] = {}
    for _ in range(60):
        graph = mutated(rng)
        endpoint = rng.choice(["/result", "/result", "/validation"])
        resp = requests.post(stack.gateway_url + endpoint, data=json.dumps({"process": {"process_graph": graph}}),
                             headers=headers, timeout=120)
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        assert resp.status_code < 500, (endpoint, resp.text[:300], json.dumps(graph)[:800])
        if resp.status_code >= 400:
            error = resp.json()
            assert {"id", "code", "message"} <= set(error) and "Traceback" not in error["message"], error
    assert statuses.get(400, 0) > 10 and statuses.get(200, 0) > 10, statuses  # both kinds really happened
