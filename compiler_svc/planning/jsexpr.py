"""Compiles openEO child process graphs (per-pixel math) into JavaScript expressions.

Returns None whenever a construct is not supported: the caller then leaves the node to the executor.
Semantics follow openEO: null is NaN, comparisons with null give null, `and`/`or` are three-valued.
"""

from __future__ import annotations

import math
from typing import Any

from compiler_svc.graph import is_ref

BINARY = {"add": "({x}+{y})", "subtract": "({x}-{y})", "multiply": "({x}*{y})", "divide": "({x}/{y})",
          "normalized_difference": "ND({x},{y})", "gt": "GT({x},{y})", "gte": "GTE({x},{y})", "lt": "LT({x},{y})",
          "lte": "LTE({x},{y})", "and": "AND({x},{y})", "or": "OR({x},{y})"}
UNARY = {"absolute": "Math.abs({x})", "sqrt": "Math.sqrt({x})", "ln": "Math.log({x})",
         "not": "NOT({x})"}
ARRAY_REDUCERS = {"mean": "MEAN", "median": "MEDIAN", "min": "MIN", "max": "MAX", "sum": "SUM", "first": "FIRST",
                  "last": "LAST", "count": "COUNT"}


def literal(value: Any) -> str | None:
    if value is None:
        return "NaN"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return repr(value)
    return None


class _Unsupported(Exception):
    pass


def compile_callback(graph: dict, env: dict[str, Any]) -> str | None:
    """JS expression of a child graph's result. `env` maps parameter names to a JS expression (str)
    or to a labelled array [(label, expr), ...] (the `data` of a reducer over bands)."""
    try:
        result = next(k for k, v in graph.items() if v.get("result"))
        out = _Compiler(graph, env).node(result)
        if isinstance(out, list):
            return None
        return out
    except (_Unsupported, StopIteration, KeyError, TypeError):
        return None


class _Compiler:
    def __init__(self, graph: dict, env: dict):
        self.graph = graph
        self.env = env
        self.memo: dict[str, Any] = {}

    def value(self, v: Any) -> Any:
        if is_ref(v):
            if "from_node" in v:
                return self.node(v["from_node"])
            name = v["from_parameter"]
            if name not in self.env:
                raise _Unsupported(name)
            return self.env[name]
        lit = literal(v)
        if lit is None:
            raise _Unsupported(repr(v))
        return lit

    def scalar(self, v: Any) -> str:
        out = self.value(v)
        if not isinstance(out, str):
            raise _Unsupported("array where a number is expected")
        return out

    def node(self, nid: str) -> Any:
        if nid in self.memo:
            return self.memo[nid]
        node = self.graph[nid]
        pid, args = node["process_id"], node.get("arguments", {})
        if node.get("namespace") not in (None, "backend"):
            raise _Unsupported(pid)
        out = self.process(pid, args)
        self.memo[nid] = out
        return out

    def process(self, pid: str, a: dict) -> Any:
        if pid in BINARY and set(a) <= {"x", "y"}:
            return BINARY[pid].format(x=self.scalar(a["x"]), y=self.scalar(a["y"]))
        if pid in UNARY and set(a) == {"x"}:
            return UNARY[pid].format(x=self.scalar(a["x"]))
        if pid in ("eq", "neq") and set(a) <= {"x", "y", "delta", "case_sensitive"}:
            delta = a.get("delta")
            d = "null" if delta is None else self.scalar(delta)
            expr = f"EQ({self.scalar(a['x'])},{self.scalar(a['y'])},{d})"
            return expr if pid == "eq" else f"NOT({expr})"
        if pid == "exp" and set(a) == {"p"}:  # openEO's exp takes `p`, not `x`
            return f"Math.exp({self.scalar(a['p'])})"
        if pid == "power" and set(a) == {"base", "p"}:
            return f"Math.pow({self.scalar(a['base'])},{self.scalar(a['p'])})"
        if pid == "log" and set(a) == {"x", "base"}:
            return f"(Math.log({self.scalar(a['x'])})/Math.log({self.scalar(a['base'])}))"
        if pid == "clip" and set(a) == {"x", "min", "max"}:
            return f"CLIP({self.scalar(a['x'])},{self.scalar(a['min'])},{self.scalar(a['max'])})"
        if pid == "linear_scale_range" and set(a) <= {"x", "inputMin", "inputMax", "outputMin", "outputMax"}:
            omin = self.scalar(a.get("outputMin", 0))
            omax = self.scalar(a.get("outputMax", 1))
            return f"LSR({self.scalar(a['x'])},{self.scalar(a['inputMin'])},{self.scalar(a['inputMax'])},{omin},{omax})"
        if pid == "if" and set(a) <= {"value", "accept", "reject"}:
            return f"IF({self.scalar(a['value'])},{self.scalar(a['accept'])},{self.scalar(a.get('reject'))})"
        if pid == "constant" and set(a) == {"x"}:
            return self.scalar(a["x"])
        if pid == "pi" and not a:
            return "Math.PI"
        if pid == "e" and not a:
            return "Math.E"
        if pid == "array_element" and set(a) <= {"data", "index", "label", "return_nodata"}:
            arr = self.value(a["data"])
            if not isinstance(arr, list):
                raise _Unsupported("array_element on a non-array")
            if "index" in a and "label" not in a and isinstance(a["index"], int) and not isinstance(a["index"], bool):
                if 0 <= a["index"] < len(arr):
                    return arr[a["index"]][1]
                raise _Unsupported("index out of range")  # the executor reports the proper error
            if "label" in a and "index" not in a:
                for label, expr in arr:
                    if label == a["label"]:
                        return expr
            raise _Unsupported("array_element label not found")
        if pid in ARRAY_REDUCERS and set(a) <= {"data", "ignore_nodata"} and a.get("ignore_nodata", True) is True:
            arr = self.value(a["data"])
            if not isinstance(arr, list):
                raise _Unsupported("reducer on a non-array")
            return f"{ARRAY_REDUCERS[pid]}([{','.join(e for _, e in arr)}])"
        raise _Unsupported(pid)
