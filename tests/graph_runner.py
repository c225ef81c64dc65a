"""Evaluating a hand-written process graph in tests the way a plan runs it: the compiler's
preparation (UDPs inlined, parameters resolved, structure checked, nodes in evaluation order,
callbacks ordered) followed by the executor's evaluator."""

from __future__ import annotations

from compiler_svc.planning.execution_order import executor_graph, needed_order
from compiler_svc.planning.inline import flatten
from compiler_svc.graph import check_structure
from compiler_svc.problems import ProblemError
from executor_svc.graph import GraphEvaluator
from executor_svc.processes import ProcessError


def evaluate(process_graph: dict, *, seeded: dict | None = None, parameters: dict | None = None,
             udps: dict | None = None, registry=None, ctx=None):
    """The result of `process_graph` (nodes or a process dict); the compiler's problems are raised
    as `ProcessError`s with the same code and node."""
    process = process_graph if isinstance(process_graph.get("process_graph"), dict) else {"process_graph": process_graph}
    seeded = dict(seeded or {})
    values = {}
    for declared in process.get("parameters") or []:
        if "default" in declared:
            values[declared["name"]] = declared["default"]
    values.update(parameters or {})
    problems, _, _ = check_structure(process["process_graph"])
    if problems:
        raise ProcessError(problems[0].code, problems[0].message, problems[0].node_id or None)
    try:
        graph, result, _ = flatten({"process_graph": process["process_graph"]}, udps or {}, {})
    except ProblemError as exc:
        raise ProcessError(exc.problem.code, exc.problem.message, exc.problem.node_id or None) from None
    order = needed_order(graph, result, set(seeded))
    return GraphEvaluator(registry=registry, ctx=ctx).run(executor_graph(graph, order), order, result,
                                                          seeded=seeded, parameters=values)
