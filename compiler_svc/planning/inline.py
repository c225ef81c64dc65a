"""UDP inlining and parameter resolution: the flat graph the executor runs."""

from __future__ import annotations

import copy
from typing import Any

from compiler_svc import process_specs
from compiler_svc.graph import is_callback, is_ref, resolve_process
from compiler_svc.problems import Problem, ProblemError

MAX_DEPTH = 16


def callback_parameter_names(process_id: str, argument: str) -> set[str]:
    definition = process_specs.get_definition(process_id) or {}
    for p in definition.get("parameters") or []:
        if p.get("name") == argument:
            for s in p["schema"] if isinstance(p["schema"], list) else [p["schema"]]:
                if isinstance(s, dict) and s.get("subtype") == "process-graph":
                    return {cp["name"] for cp in s.get("parameters") or []}
    return set()


def _substitute(value: Any, bindings: dict, shadowed: set[str], process_id: str, arg: str, expander) -> Any:
    if is_ref(value):
        name = value.get("from_parameter")
        if name is not None and name not in shadowed and name in bindings:
            return copy.deepcopy(bindings[name])
        return dict(value)
    if is_callback(value):
        params = callback_parameter_names(process_id, arg)
        out = {k: v for k, v in value.items() if k != "process_graph"}
        out["process_graph"] = expander(value["process_graph"], bindings, shadowed | params)
        return out
    if isinstance(value, dict):
        return {k: _substitute(v, bindings, shadowed, process_id, arg, expander) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, bindings, shadowed, process_id, arg, expander) for v in value]
    return value


def _rename_refs(value: Any, mapping: dict[str, str]) -> Any:
    if is_ref(value) and "from_node" in value:
        return {"from_node": mapping.get(value["from_node"], value["from_node"])}
    if is_callback(value):
        return value  # callback graphs have their own node ids
    if isinstance(value, dict):
        return {k: _rename_refs(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_refs(v, mapping) for v in value]
    return value


class Inliner:
    def __init__(self, udps: dict[str, dict]):
        self.udps = udps
        self.used: list[str] = []
        self.depth = 0

    def expand(self, graph: dict, bindings: dict, shadowed: set[str]) -> dict:
        out: dict[str, dict] = {}
        for nid, node in graph.items():
            pid = node["process_id"]
            kind, definition = resolve_process(pid, node.get("namespace"), self.udps)

            def expander(g, b, s):
                return self.expand(g, b, s)

            args = {
                name: _substitute(value, bindings, shadowed, pid if kind == "predefined" else "", name, expander)
                for name, value in (node.get("arguments") or {}).items()
            }
            if kind != "udp":
                new = {"process_id": pid, "arguments": args}
                if node.get("namespace") not in (None, "backend"):
                    new["namespace"] = node["namespace"]
                if node.get("result"):
                    new["result"] = True
                out[nid] = new
                continue
            out.update(self.inline_udp(nid, pid, definition, args, bool(node.get("result"))))
        return out

    def inline_udp(self, nid: str, udp_id: str, udp: dict, args: dict, is_result: bool) -> dict:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ProblemError(Problem("ProcessGraphInvalid",
                                       f"User-defined process '{udp_id}' calls itself (recursion is not supported).", nid))
        if udp_id not in self.used:
            self.used.append(udp_id)
        bindings = {}
        for p in udp.get("parameters") or []:
            if "default" in p:
                bindings[p["name"]] = p["default"]
        bindings.update(args)
        body = self.expand(udp["process_graph"], bindings, set())
        result_id = next(k for k, v in body.items() if v.get("result"))
        mapping = {k: (nid if k == result_id else f"{nid}/{k}") for k in body}
        out = {}
        for k, node in body.items():
            new = dict(node)
            new["arguments"] = _rename_refs(node["arguments"], mapping)
            new.pop("result", None)
            if k == result_id and is_result:
                new["result"] = True
            out[mapping[k]] = new
        self.depth -= 1
        return out


def flatten(process: dict, udps: dict[str, dict], values: dict) -> tuple[dict, str, list[str]]:
    """(flat graph, result node id, used UDP ids) with UDPs inlined and top-level parameters resolved."""
    bindings = {}
    for p in process.get("parameters") or []:
        if "default" in p:
            bindings[p["name"]] = p["default"]
    bindings.update(values)
    inliner = Inliner(udps)
    graph = inliner.expand(process["process_graph"], bindings, set())
    result = next(k for k, v in graph.items() if v.get("result"))
    return graph, result, inliner.used
