"""Evaluator of the process graph a plan leaves for the executor.

The compiler hands over the graph ready to run (see `ExecutionPlan` in compiler.proto): UDPs
inlined, parameters resolved, the top-level nodes to evaluate listed in `node_order`
(dependencies first), and every callback graph reduced to the nodes its result needs, in
evaluation order, its result node last. So evaluation is a loop: every `from_node` refers to a
node evaluated (or seeded) before, and nothing here walks the graph.

* ``seeded`` results (the cubes of Sentinel Hub loads and of `load_result` sources) stand in
  for their nodes.
* ``{"process_graph": ...}`` arguments become Python callables ``cb(**params)``; they are called
  once with whole arrays (vectorised), with child scopes that also see the parent's parameters.
* Before each node the run's budget (`processes/limits.py`) stops a cancelled or overdue run, and
  after each node it refuses a result larger than the limits.
* Failures raise :class:`~executor_svc.processes.errors.ProcessError` with the failing node id.
"""

from __future__ import annotations

from typing import Any

from executor_svc.processes import REGISTRY, ExecutionContext, ProcessError, ProcessRegistry

_MISSING = object()
PREDEFINED_NAMESPACES = (None, "backend", "predefined")


class _Scope:
    """Parameter bindings of one (child) process-graph invocation."""

    def __init__(self, params: dict, parent: "_Scope | None" = None):
        self.params = params
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.params:
                return scope.params[name]
            scope = scope.parent
        return _MISSING


class Callback:
    """A child process graph as a Python callable: ``cb(x=..., context=...)`` -> value."""

    def __init__(self, evaluator: "GraphEvaluator", graph: dict, parent: _Scope, owner: str):
        self.evaluator = evaluator
        self.graph = graph
        self.parent = parent
        self.owner = owner

    def __call__(self, **params: Any) -> Any:
        return self.evaluator._run_callback(self.graph, _Scope(params, self.parent), self.owner)

    def __repr__(self) -> str:
        return f"Callback(nodes={list(self.graph)})"


class GraphEvaluator:
    def __init__(self, registry: ProcessRegistry | None = None, ctx: ExecutionContext | None = None):
        self.registry = registry or REGISTRY
        self.ctx = ctx or ExecutionContext()

    def run(self, graph: dict, order: list[str], result_id: str, *, seeded: dict | None = None,
            parameters: dict | None = None) -> Any:
        """Evaluates the nodes of `order` (in that order) and returns the result node's value."""
        memo: dict[str, Any] = dict(seeded or {})
        scope = _Scope(dict(parameters or {}))
        for node_id in order:
            memo[node_id] = self._node(graph[node_id], node_id, scope, memo)
            self.ctx.budget.check_result(memo[node_id], node_id)
        if result_id not in memo:
            raise ProcessError("ProcessGraphInvalid", f"The result node {result_id!r} is neither evaluated nor seeded.")
        return memo[result_id]

    def _run_callback(self, graph: dict, scope: _Scope, owner: str) -> Any:
        if not graph:
            raise ProcessError("ProcessGraphInvalid", "A callback has no nodes.", owner)
        memo: dict[str, Any] = {}
        for node_id, node in graph.items():  # ordered by the compiler, result node last
            memo[node_id] = self._node(node, node_id, scope, memo)
            self.ctx.budget.check_result(memo[node_id], node_id)
        return memo[node_id]

    def _node(self, node: dict, node_id: str, scope: _Scope, memo: dict) -> Any:
        self.ctx.budget.check(node_id)  # cancelled or overdue: stop before the next node
        pid = node.get("process_id") if isinstance(node, dict) else None
        if not isinstance(pid, str):
            raise ProcessError("ProcessGraphInvalid", f"Node {node_id!r} has no process_id.", node_id)
        args = {k: self._value(v, scope, memo, node_id) for k, v in (node.get("arguments") or {}).items()}
        try:
            return self._call(pid, node.get("namespace"), args, node_id)
        except ProcessError as e:
            if e.node_id is None:
                e.node_id = node_id
            raise
        except RecursionError:
            raise
        except Exception as e:  # unexpected failure inside an implementation
            raise ProcessError("Internal", f"Process {pid!r} failed: {type(e).__name__}: {e}", node_id) from e

    def _call(self, pid: str, namespace: str | None, args: dict, node_id: str) -> Any:
        if namespace not in PREDEFINED_NAMESPACES or pid not in self.registry:
            ns = f" in namespace {namespace!r}" if namespace else ""
            raise ProcessError("ProcessUnsupported", f"Process with identifier {pid!r} is not available{ns}.", node_id)
        prev = self.ctx.node_id
        self.ctx.node_id = node_id
        try:
            return self.registry.get(pid)(args, self.ctx)
        finally:
            self.ctx.node_id = prev

    def _value(self, value: Any, scope: _Scope, memo: dict, node_id: str) -> Any:
        if isinstance(value, dict):
            if "from_node" in value and len(value) == 1:
                found = memo.get(value["from_node"], _MISSING) if isinstance(value["from_node"], str) else _MISSING
                if found is _MISSING:
                    raise ProcessError("ProcessGraphInvalid", f"Node {value['from_node']!r} is used by node {node_id!r} "
                                       "before it is evaluated.", node_id)
                return found
            if "from_parameter" in value and len(value) == 1:
                name = value["from_parameter"]
                found = scope.lookup(name)
                if found is _MISSING:
                    raise ProcessError(
                        "ProcessParameterMissing", f"The process graph parameter {name!r} has no value.", node_id
                    )
                return found
            if "process_graph" in value and len(value) == 1:
                return Callback(self, value["process_graph"], scope, node_id)
            return {k: self._value(v, scope, memo, node_id) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, scope, memo, node_id) for v in value]
        return value
