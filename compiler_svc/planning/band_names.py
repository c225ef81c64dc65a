"""The label of a raster result's single band when its bands dimension was reduced away (pure).

Files name every band (GeoTIFF band descriptions, netCDF variables, STAC `eo:bands`); a cube
without a bands dimension has no label to take, so the plan carries one in
`OutputFormat.band_name`: the process that dropped the dimension names it. `ndvi` without
`target_band` gives "ndvi"; `reduce_dimension` over `bands` with a reducer of one process gives
that process ("mean", "max"); anything else "band". Found by following the result's `data`
inputs back from the result node; a node id is never a band label.
"""

from __future__ import annotations

DEFAULT = "band"


def _data_source(node: dict) -> str | None:
    data = (node.get("arguments") or {}).get("data")
    return data.get("from_node") if isinstance(data, dict) else None


def unlabeled_band_name(graph: dict, result: str) -> str:
    nid = result
    for _ in range(len(graph) + 1):
        node = graph.get(nid)
        if not isinstance(node, dict):
            return DEFAULT
        pid = node.get("process_id")
        args = node.get("arguments") or {}
        if pid == "ndvi":
            return "ndvi" if args.get("target_band") is None else DEFAULT
        if pid == "reduce_dimension" and args.get("dimension") == "bands":
            reducer = (args.get("reducer") or {}).get("process_graph") if isinstance(args.get("reducer"), dict) else None
            if isinstance(reducer, dict) and len(reducer) == 1:
                (inner,) = reducer.values()
                if isinstance(inner, dict) and isinstance(inner.get("process_id"), str):
                    return inner["process_id"]
            return DEFAULT
        nid = _data_source(node)
        if nid is None:
            return DEFAULT
    return DEFAULT
