"""OutputFormat.band_name: the label of a band-less raster result's one band (planning/band_names.py)."""

from __future__ import annotations

import pytest

from compiler_svc.planning.band_names import unlabeled_band_name


def chain(*nodes: tuple[str, str, dict]) -> dict:
    graph, previous = {}, None
    for nid, pid, args in nodes:
        arguments = dict(args)
        if previous is not None:
            arguments["data"] = {"from_node": previous}
        graph[nid] = {"process_id": pid, "arguments": arguments}
        previous = nid
    graph[previous]["result"] = True
    return graph


LOAD = ("load", "load_collection", {"id": "SENTINEL2_L2A"})
SAVE = ("save", "save_result", {"format": "GTiff"})


def reducer(*pids: str) -> dict:
    return {"process_graph": {f"n{i}": {"process_id": pid, "arguments": {"data": {"from_parameter": "data"}}}
                              for i, pid in enumerate(pids)}}


@pytest.mark.parametrize("middle, expected", [
    ([("ndvi1", "ndvi", {})], "ndvi"),
    ([("ndvi1", "ndvi", {}), ("k", "apply_kernel", {"kernel": [[1]]})], "ndvi"),
    ([("ndvi1", "ndvi", {"target_band": "NDVI"})], "band"),  # the bands dimension stays, labelled
    ([("r", "reduce_dimension", {"dimension": "bands", "reducer": reducer("mean")})], "mean"),
    ([("r", "reduce_dimension", {"dimension": "bands", "reducer": reducer("subtract", "divide")})], "band"),
    ([("r", "reduce_dimension", {"dimension": "t", "reducer": reducer("median")}), ("ndvi1", "ndvi", {})], "ndvi"),
    ([("ndvi1", "ndvi", {}), ("r", "reduce_dimension", {"dimension": "t", "reducer": reducer("median")})], "ndvi"),
    ([], "band"),
])
def test_named_by_the_process_that_dropped_the_bands_dimension(middle, expected):
    graph = chain(LOAD, *middle, SAVE)
    assert unlabeled_band_name(graph, "save") == expected
    assert expected not in ("load", "save", "ndvi1", "r")  # never a node id
