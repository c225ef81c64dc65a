"""Lazy, memoising evaluator for openEO process graphs.

Usage::

    from executor_svc.graph import evaluate
    result = evaluate(process_graph, seeded={"load1": cube}, parameters={}, udp=resolver)

* ``process_graph``: the ``{node_id: {"process_id", "arguments", "result"}}`` dict, or a whole
  process dict ``{"process_graph": {...}, "parameters": [...]}``.
* Only nodes reachable from the result node are evaluated, each once per graph invocation.
* ``seeded`` results (e.g. ``load_collection`` nodes already fetched by the executor) are used
  instead of evaluating those nodes.
* ``{"process_graph": ...}`` arguments become Python callables ``cb(**params)``; they are called
  once with whole arrays (vectorised), with child scopes that can also see the parent's
  parameters.
* User-defined processes are resolved through ``udp(process_id, namespace) -> process dict``.
* Failures raise :class:`~executor_svc.processes.errors.ProcessError` with the failing node id.
"""

from __future__ import annotations

from typing import Any, Callable

from executor_svc.processes import REGISTRY, ExecutionContext, ProcessError, ProcessRegistry

UdpResolver = Callable[[str, "str | None"], "dict | None"]

_MISSING = object()


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
        return self.evaluator._run_graph(self.graph, _Scope(params, self.parent), seeded=None)

    def __repr__(self) -> str:
        return f"Callback(nodes={list(self.graph)})"


class GraphEvaluator:
    def __init__(
        self,
        registry: ProcessRegistry | None = None,
        ctx: ExecutionContext | None = None,
        udp: UdpResolver | None = None,
        max_udp_depth: int = 16,
    ):
        self.registry = registry or REGISTRY
        self.ctx = ctx or ExecutionContext()
        self.udp = udp
        self.max_udp_depth = max_udp_depth
        self._udp_depth = 0

    # -- public ----------------------------------------------------------------------------------
    def evaluate(self, process_graph: dict, *, seeded: dict | None = None, parameters: dict | None = None) -> Any:
        graph, declared = _split_process(process_graph)
        params = _bind_parameters(declared, parameters or {}, "process graph", strict=False)
        return self._run_graph(graph, _Scope(params), seeded=seeded or {})

    # -- internals -------------------------------------------------------------------------------
    def _run_graph(self, graph: dict, scope: _Scope, seeded: dict | None) -> Any:
        result_id = _result_node(graph)
        memo: dict[str, Any] = dict(seeded or {})
        # dependencies first, so that a long from_node chain costs no recursion depth
        for node_id in _evaluation_order(graph, result_id, memo):
            memo[node_id] = self._node(graph, node_id, scope, memo)
        return memo[result_id]

    def _node(self, graph: dict, node_id: str, scope: _Scope, memo: dict) -> Any:
        """One node's result; its from_node dependencies are in `memo` already
        (`_evaluation_order` checked they exist and form no cycle)."""
        node = graph[node_id]
        pid = node.get("process_id")
        if not isinstance(pid, str):
            raise ProcessError("ProcessGraphInvalid", f"Node {node_id!r} has no process_id.", node_id)
        args = {
            k: self._value(v, graph, scope, memo, node_id) for k, v in (node.get("arguments") or {}).items()
        }
        namespace = node.get("namespace")
        try:
            result = self._call(pid, namespace, args, node_id)
        except ProcessError as e:
            if e.node_id is None:
                e.node_id = node_id
            raise
        except RecursionError:
            raise
        except Exception as e:  # unexpected failure inside an implementation
            raise ProcessError("Internal", f"Process {pid!r} failed: {type(e).__name__}: {e}", node_id) from e
        return result

    def _call(self, pid: str, namespace: str | None, args: dict, node_id: str) -> Any:
        if namespace in (None, "backend", "predefined") and pid in self.registry:
            prev = self.ctx.node_id
            self.ctx.node_id = node_id
            try:
                return self.registry.get(pid)(args, self.ctx)
            finally:
                self.ctx.node_id = prev
        definition = self.udp(pid, namespace) if self.udp else None
        if definition is None:
            ns = f" in namespace {namespace!r}" if namespace else ""
            raise ProcessError("ProcessUnsupported", f"Process with identifier {pid!r} is not available{ns}.", node_id)
        if self._udp_depth >= self.max_udp_depth:
            raise ProcessError("ProcessGraphInvalid", f"User-defined process {pid!r} nested too deeply (recursion?).", node_id)
        graph, declared = _split_process(definition)
        params = _bind_parameters(declared, args, pid, strict=True)
        self._udp_depth += 1
        try:
            return self._run_graph(graph, _Scope(params), seeded=None)
        finally:
            self._udp_depth -= 1

    def _value(self, value: Any, graph: dict, scope: _Scope, memo: dict, node_id: str) -> Any:
        if isinstance(value, dict):
            if "from_node" in value and len(value) == 1:
                return memo[value["from_node"]]
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
            return {k: self._value(v, graph, scope, memo, node_id) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, graph, scope, memo, node_id) for v in value]
        return value


def _node_refs(value: Any):
    """from_node targets in an argument value, in order, not descending into callbacks."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if "from_node" in item and len(item) == 1:
                yield item["from_node"]
            elif not ("process_graph" in item and len(item) == 1):
                pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))


def _evaluation_order(graph: dict, result_id: str, memo: dict) -> list[str]:
    """The nodes the result depends on through from_node (itself last), each after its
    dependencies, in the order a depth-first evaluation of the arguments meets them; nodes in
    `memo` (seeded) are not entered. Iterative: any chain length is fine."""
    order: list[str] = []
    done: set[str] = set(memo)
    active: set[str] = set()
    stack: list[tuple[str, Any]] = []

    def enter(node_id: Any) -> None:
        if not isinstance(node_id, str) or node_id not in graph:
            raise ProcessError("ProcessGraphInvalid", f"Node {node_id!r} referenced by from_node does not exist.")
        node = graph[node_id]
        args = node.get("arguments") if isinstance(node, dict) else None
        active.add(node_id)
        stack.append((node_id, _node_refs(args or {})))

    if result_id not in done:
        enter(result_id)
    while stack:
        node_id, refs = stack[-1]
        for ref in refs:
            if not isinstance(ref, str) or ref not in graph:
                enter(ref)  # raises: no such node
            if ref in done:
                continue
            if ref in active:
                raise ProcessError("ProcessGraphInvalid", f"Cycle detected at node {ref!r}.", ref)
            enter(ref)
            break
        else:
            stack.pop()
            active.discard(node_id)
            done.add(node_id)
            order.append(node_id)
    return order


def _split_process(process: dict) -> tuple[dict, list]:
    if "process_graph" in process and isinstance(process["process_graph"], dict):
        return process["process_graph"], list(process.get("parameters") or [])
    return process, []


def _result_node(graph: dict) -> str:
    if not isinstance(graph, dict) or not graph:
        raise ProcessError("ProcessGraphInvalid", "The process graph is empty or not an object.")
    results = [k for k, n in graph.items() if isinstance(n, dict) and n.get("result")]
    if len(results) != 1:
        if not results and len(graph) == 1:
            return next(iter(graph))
        raise ProcessError("ProcessGraphInvalid", f"The process graph must have exactly one result node, found {len(results)}.")
    return results[0]


def _bind_parameters(declared: list, given: dict, owner: str, strict: bool) -> dict:
    params = dict(given)
    for p in declared:
        name = p.get("name")
        if name in params:
            continue
        if "default" in p:
            params[name] = p["default"]
        elif strict and not p.get("optional", False):
            raise ProcessError("ProcessParameterMissing", f"Process {owner!r} parameter {name!r} is required.")
    return params


def evaluate(
    process_graph: dict,
    *,
    seeded: dict | None = None,
    parameters: dict | None = None,
    udp: UdpResolver | None = None,
    registry: ProcessRegistry | None = None,
    ctx: ExecutionContext | None = None,
) -> Any:
    """Evaluate the result node of ``process_graph``; see the module docstring."""
    return GraphEvaluator(registry=registry, ctx=ctx, udp=udp).evaluate(process_graph, seeded=seeded, parameters=parameters)
