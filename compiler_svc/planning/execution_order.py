"""What the executor evaluates, in which order (pure).

The plan carries the top-level nodes its result needs, dependencies first, and every callback
graph inside them pruned and ordered the same way, so the executor evaluates node after node
without walking the graph: a `from_node` is always a node evaluated (or seeded) before."""

from __future__ import annotations

from typing import Any

from compiler_svc.graph import is_callback, iter_refs

#: Processes that never combine values of different pixels (at the top level of the graph).
PER_PIXEL = {
    "load_collection", "save_result", "ndvi", "normalized_difference", "apply", "linear_scale_range",
    "filter_temporal", "filter_bands", "mask", "merge_cubes", "rename_labels", "add_dimension",
    "aggregate_temporal", "aggregate_temporal_period", "drop_dimension", "rename_dimension",
}
#: Processes that are per-pixel unless they work along x or y.
ALONG_DIMENSION = {"reduce_dimension", "apply_dimension"}


def _node_refs(node: Any) -> list[str]:
    args = node.get("arguments") if isinstance(node, dict) else None
    return [ref["from_node"] for ref in iter_refs(args or {}) if "from_node" in ref]


def needed_order(graph: dict, result: str, seeded: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The nodes `result` needs through from_node (itself last), each after its dependencies, in
    the order a depth-first walk of the arguments meets them; `seeded` nodes are neither listed
    nor entered. The graph is validated (no cycles, no dangling references). Iterative, so any
    chain length is fine."""
    if result in seeded:
        return []
    order: list[str] = []
    done: set[str] = set(seeded)
    stack: list[tuple[str, list[str]]] = [(result, _node_refs(graph[result]))]
    entered = {result}
    while stack:
        node_id, refs = stack[-1]
        while refs:
            ref = refs.pop(0)
            if ref not in done and ref not in entered:
                entered.add(ref)
                stack.append((ref, _node_refs(graph[ref])))
                break
        else:
            stack.pop()
            done.add(node_id)
            order.append(node_id)
    return order


def _result_of(graph: dict) -> str:
    results = [nid for nid, node in graph.items() if isinstance(node, dict) and node.get("result")]
    return results[0] if results else next(iter(graph))


def ordered_callbacks(value: Any) -> Any:
    """`value` with every callback graph in it reduced to the nodes its result needs, in
    evaluation order (its result node last), recursively."""
    if is_callback(value):
        graph = value["process_graph"]
        order = needed_order(graph, _result_of(graph)) if graph else []
        return {**value, "process_graph": {nid: ordered_callbacks(graph[nid]) for nid in order}}
    if isinstance(value, dict):
        return {k: ordered_callbacks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [ordered_callbacks(v) for v in value]
    return value


def executor_graph(graph: dict, order: list[str]) -> dict:
    """The nodes of `order`, in that order, with their callbacks ordered."""
    return {nid: ordered_callbacks(graph[nid]) for nid in order}


def is_per_pixel(graph: dict, order: list[str]) -> bool:
    """True when no node of `order` combines values of different pixels."""
    for nid in order:
        node = graph[nid]
        pid = node.get("process_id")
        if pid in PER_PIXEL:
            continue
        if pid in ALONG_DIMENSION and (node.get("arguments") or {}).get("dimension") not in ("x", "y"):
            continue
        return False
    return True
