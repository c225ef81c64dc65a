"""The node map of a process graph as plans carry it (pure)."""

from __future__ import annotations


def graph_nodes(graph: dict) -> dict:
    """The nodes of `graph`, given either as the node map itself or as {"process_graph": ...}."""
    return graph.get("process_graph", graph) if isinstance(graph.get("process_graph"), dict) else graph
