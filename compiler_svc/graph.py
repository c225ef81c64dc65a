"""Structure of a process graph, shared by validation and planning: parsing, references,
callbacks, the result node, cycles, topological order and which processes (predefined or
user-defined) nodes call."""

from __future__ import annotations

from typing import Any, Iterator

from backend_common.json_documents import JsonRefused, has_invalid_unicode, loads_strict
from compiler_svc import process_specs
from compiler_svc.problems import Problem, ProblemError

REF_KEYS = ("from_node", "from_parameter")


def parse_process(process_json: str) -> dict:
    """The openEO process object ({"process_graph": ..., "parameters": [...]}) from JSON.

    A bare process graph ({node_id: node}) is wrapped into a process object.
    """
    try:
        # strict (no NaN/Infinity, bounded numbers, valid Unicode) like the gateway: documents
        # stored before it was strict, or sent by other callers, fail here with a clear problem
        doc = loads_strict(process_json, max_depth=10**6)
    except JsonRefused as exc:
        raise ProblemError(Problem("ProcessGraphInvalid", f"Invalid process graph specified: the JSON cannot be parsed ({exc}).")) from None
    if not isinstance(doc, dict):
        raise ProblemError(Problem("ProcessGraphInvalid", "Invalid process graph specified: expected a JSON object."))
    if "process_graph" not in doc:
        if doc and all(isinstance(v, dict) and "process_id" in v for v in doc.values()):
            return {"process_graph": doc}
        raise ProblemError(Problem("ProcessGraphMissing", "Invalid process specified. It doesn't contain a process graph."))
    if not isinstance(doc["process_graph"], dict):
        raise ProblemError(Problem("ProcessGraphInvalid", "Invalid process graph specified: 'process_graph' must be an object."))
    params = doc.get("parameters")
    if params is not None and not isinstance(params, list):
        raise ProblemError(Problem("ProcessGraphInvalid", "Invalid process specified: 'parameters' must be an array."))
    return doc


#: Longest node id accepted (the API sets none; ids appear in every problem message and log line).
MAX_NODE_ID_CHARS = 256


def check_size(process: dict, max_nodes: int, what: str = "The process graph") -> None:
    """ProblemError when the nodes of `process`, callbacks included, are more than `max_nodes`, or a
    node id is longer than MAX_NODE_ID_CHARS, or a string is not valid Unicode (an unpaired
    surrogate: stored data from before the gateway refused it). Iterative and linear in the size,
    so it runs before any other work."""
    count = 0
    pending: list[Any] = [process]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            graph = item.get("process_graph")
            if isinstance(graph, dict):
                count += len(graph)
                if count > max_nodes:
                    raise ProblemError(Problem(
                        "ProcessGraphComplexity",
                        f"{what} has more than {max_nodes} nodes (callbacks and user-defined processes "
                        f"included). Please simplify it or split the work."))
                for node_id in graph:
                    if len(node_id) > MAX_NODE_ID_CHARS:
                        raise ProblemError(Problem(
                            "ProcessGraphInvalid",
                            f"Invalid process graph specified: a node id is longer than {MAX_NODE_ID_CHARS} characters."))
            for key, value in item.items():
                if isinstance(key, str) and has_invalid_unicode(key):
                    raise ProblemError(Problem("ProcessGraphInvalid", "Invalid process graph specified: a property "
                                                                      "name is not valid Unicode (an unpaired surrogate)."))
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and has_invalid_unicode(item):
            raise ProblemError(Problem("ProcessGraphInvalid", "Invalid process graph specified: a text is not valid "
                                                              "Unicode (an unpaired surrogate)."))


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in REF_KEYS


def is_callback(value: Any) -> bool:
    return isinstance(value, dict) and "process_graph" in value and isinstance(value["process_graph"], dict)


def iter_refs(value: Any) -> Iterator[dict]:
    """References (from_node / from_parameter) in a value, not descending into callbacks."""
    if isinstance(value, dict):
        if is_ref(value):
            yield value
        elif not is_callback(value):
            for v in value.values():
                yield from iter_refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_refs(v)


def contains_ref(value: Any) -> bool:
    if isinstance(value, dict):
        if is_ref(value) or is_callback(value):
            return True
        return any(contains_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_ref(v) for v in value)
    return False


def resolve_process(process_id: str, namespace: str | None, udps: dict[str, dict]) -> tuple[str, dict | None]:
    """('predefined', definition) | ('udp', process object) | ('unsupported', None)."""
    if namespace in (None, "backend", "openeo") and process_specs.is_predefined(process_id):
        definition = process_specs.get_definition(process_id)
        return ("predefined", definition) if definition else ("unsupported", None)
    if namespace in (None, "user") and process_id in udps:
        return "udp", udps[process_id]
    return "unsupported", None


def iter_nodes(graph: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(path, node) of every node of `graph` and of the callbacks in its arguments, recursively;
    paths as `node_path` gives them ("outer/inner"). Nodes that are not objects are left out."""
    for nid, node in graph.items():
        if not isinstance(node, dict):
            continue
        path = node_path(prefix, nid)
        yield path, node
        args = node.get("arguments")
        for value in args.values() if isinstance(args, dict) else ():
            for callback in callbacks_in(value):
                yield from iter_nodes(callback["process_graph"], path)


def udp_references(graph: dict) -> set[str]:
    """Ids of processes a graph (and its callbacks) calls that are not predefined (or namespace user)."""
    found: set[str] = set()
    for _, node in iter_nodes(graph):
        pid, ns = node.get("process_id"), node.get("namespace")
        if isinstance(pid, str) and (ns == "user" or (ns is None and not process_specs.is_predefined(pid))):
            found.add(pid)
    return found


def callbacks_in(value: Any) -> Iterator[dict]:
    """Callbacks ({"process_graph": ...}) in an argument value, not descending into them."""
    if is_callback(value):
        yield value
    elif isinstance(value, dict) and not is_ref(value):
        for v in value.values():
            yield from callbacks_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from callbacks_in(v)


def node_shape_problems(graph: dict, prefix: str = "") -> list[Problem]:
    """Nodes (callbacks included) that are not `{"process_id": <text>, "arguments": {...}}`, as the
    API's process graph schema requires; nothing about what the nodes mean."""
    problems: list[Problem] = []
    for nid, node in graph.items():
        path = node_path(prefix, nid)
        if not isinstance(node, dict) or not isinstance(node.get("process_id"), str) or not node.get("process_id"):
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process graph specified: node '{path}' has no 'process_id'.", path))
            continue
        args = node.get("arguments", {})
        if not isinstance(args, dict):
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process graph specified: 'arguments' of node '{path}' must be an object.", path))
            continue
        for value in args.values():
            for callback in callbacks_in(value):
                if isinstance(callback.get("process_graph"), dict):
                    problems.extend(node_shape_problems(callback["process_graph"], path))
    return problems


def node_path(prefix: str, node_id: str) -> str:
    return f"{prefix}/{node_id}" if prefix else node_id


def check_structure(graph: dict, prefix: str = "") -> tuple[list[Problem], str | None, list[str]]:
    """Problems with the graph's shape, its result node and a topological order of its nodes."""
    problems: list[Problem] = []
    if not graph:
        return [Problem("ProcessGraphInvalid", f"Invalid process graph specified: the graph{' in ' + prefix if prefix else ''} has no nodes.", prefix)], None, []
    deps: dict[str, set[str]] = {}
    results = []
    for nid, node in graph.items():
        path = node_path(prefix, nid)
        if not isinstance(node, dict) or not isinstance(node.get("process_id"), str) or not node.get("process_id"):
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process graph specified: node '{path}' has no 'process_id'.", path))
            deps[nid] = set()
            continue
        args = node.get("arguments", {})
        if not isinstance(args, dict):
            problems.append(Problem("ProcessGraphInvalid", f"Invalid process graph specified: 'arguments' of node '{path}' must be an object.", path))
            args = {}
        if node.get("result") is True:
            results.append(nid)
        deps[nid] = set()
        for arg_name, value in args.items():
            for ref in iter_refs(value):
                if "from_node" in ref:
                    target = ref["from_node"]
                    if not isinstance(target, str) or target not in graph:
                        problems.append(Problem(
                            "ProcessGraphInvalid",
                            f"Invalid process graph specified: argument '{arg_name}' of node '{path}' refers to node '{target}', which does not exist.",
                            path, arg_name))
                    else:
                        deps[nid].add(target)
                elif not isinstance(ref["from_parameter"], str):
                    problems.append(Problem("ProcessGraphInvalid", f"Invalid process graph specified: argument '{arg_name}' of node '{path}' has a non-string 'from_parameter'.", path, arg_name))
    if len(results) != 1:
        where = f" '{prefix}'" if prefix else ""
        problems.append(Problem(
            "ProcessGraphInvalid",
            f"Invalid process graph specified: the graph{where} must have exactly one result node (found {len(results)}: {sorted(results)}).",
            prefix))
    order: list[str] = []
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(deps.get(start, ()))))]
        state[start] = 1
        while stack:
            nid, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[nid] = 2
                order.append(nid)
            elif state.get(nxt) == 1:
                problems.append(Problem("ProcessGraphInvalid", f"Invalid process graph specified: the graph contains a cycle through node '{node_path(prefix, nxt)}'.", node_path(prefix, nxt)))
                stack.clear()
                break
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(deps.get(nxt, ())))))
        if any(p.message.endswith("cycle through node '" + p.node_id + "'.") for p in problems):
            return problems, None, []
    return problems, (results[0] if len(results) == 1 else None), order
