"""Push-down analysis: which nodes after each load_collection can run inside the evalscript.

Every node gets, when possible, a symbolic cube (`Sym`): per output band a JS expression over the
Sentinel Hub sample(s). Then, greedily from the largest, a node R is chosen as a load's result when
every node absorbed into R is used only by nodes also absorbed into R. Conservative by design:
anything not understood is left to the executor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from compiler_svc.collections.catalogue import Collection, catalogue
from compiler_svc.planning.jsexpr import compile_callback, literal
from compiler_svc.graph import is_callback, is_ref, iter_refs

T_REDUCERS = {"mean": "MEAN", "median": "MEDIAN", "min": "MIN", "max": "MAX", "first": "FIRST", "last": "LAST",
              "count": "COUNT", "sum": "SUM"}
RESAMPLE_METHODS = {"near": "NEAREST", "bilinear": "BILINEAR", "cubic": "BICUBIC"}


@dataclass(frozen=True)
class Sym:
    loads: frozenset          # load_collection node ids read
    collection: str
    load_key: str             # JSON of the load arguments except bands (must match to merge)
    mode: str                 # "temporal" | "reduced" | "simple"
    labels: tuple | None      # band labels (None: bands dimension dropped)
    exprs: tuple              # JS expressions, one per label (or one)
    reads: tuple              # raw band names read
    nodes: frozenset          # nodes whose work this cube contains
    raw: bool = True          # expressions are plain band reads of a single load
    options: tuple = ()       # (("resample", json), ("sar", json), ("order", "leastRecent"))

    def opts(self) -> dict:
        return {k: json.loads(v) if k != "order" else v for k, v in self.options}


def _load_sym(nid: str, args: dict, coll: Collection) -> Sym | None:
    bands = args.get("bands")
    if bands is None:
        names = [b for b in coll.band_names]
    else:
        names = []
        for b in bands:
            for r in coll.resolve_band(b):
                if r not in names:
                    names.append(r)
    key = json.dumps({k: v for k, v in sorted(args.items()) if k != "bands"}, sort_keys=True)
    mode = "temporal" if coll.temporal else "simple"
    return Sym(frozenset([nid]), coll.id, key, mode, tuple(names), tuple(f"s.{n}" for n in names), tuple(names),
               frozenset([nid]))


def _label_index(sym: Sym, name: str) -> int | None:
    if sym.labels is None:
        return None
    if name in sym.labels:
        return sym.labels.index(name)
    coll = catalogue()[sym.collection]
    matches = [i for i, lab in enumerate(sym.labels) if lab in coll.resolve_band(name)]
    return matches[0] if len(matches) == 1 else None


#: Stands for `x` while an `apply` callback is compiled; cannot occur in compiled literals (they
#: are written with repr/JSON escapes, never a raw NUL).
X_PLACEHOLDER = "\x00x\x00"


def analyse(graph: dict, order: list[str]) -> dict[str, Sym]:
    syms: dict[str, Sym] = {}
    for nid in order:
        node = graph[nid]
        if node.get("namespace") not in (None, "backend"):
            continue
        try:
            sym = _eval(nid, node["process_id"], node.get("arguments", {}), syms)
        except (KeyError, TypeError, ValueError, IndexError):
            sym = None
        if sym is not None:
            syms[nid] = sym
    return syms


def _input(args: dict, name: str, syms: dict) -> Sym | None:
    v = args.get(name)
    if is_ref(v) and "from_node" in v:
        return syms.get(v["from_node"])
    return None


def _eval(nid: str, pid: str, a: dict, syms: dict) -> Sym | None:
    if pid == "load_collection":
        if any(True for v in a.values() for _ in iter_refs(v)) or any(is_callback(v) for v in a.values()):
            return None
        coll = catalogue().get(a.get("id"))
        return _load_sym(nid, a, coll) if coll else None
    data = _input(a, "data", syms)
    if data is None:
        return None
    nodes = data.nodes | {nid}
    if pid == "filter_bands" and set(a) <= {"data", "bands"} and isinstance(a.get("bands"), list) and data.labels:
        idx = [_label_index(data, b) for b in a["bands"]]
        if any(i is None for i in idx):
            return None
        return replace(data, labels=tuple(data.labels[i] for i in idx), exprs=tuple(data.exprs[i] for i in idx),
                       nodes=nodes, raw=data.raw)
    if pid == "ndvi" and set(a) <= {"data", "nir", "red", "target_band"} and data.labels:
        nir = _label_index(data, a.get("nir", "nir"))
        red = _label_index(data, a.get("red", "red"))
        if nir is None or red is None:
            return None
        expr = f"ND({data.exprs[nir]},{data.exprs[red]})"
        target = a.get("target_band")
        if target is None:
            return replace(data, labels=None, exprs=(expr,), nodes=nodes, raw=False)
        if not isinstance(target, str) or target in data.labels:
            return None
        return replace(data, labels=data.labels + (target,), exprs=data.exprs + (expr,), nodes=nodes, raw=False)
    if pid == "apply" and set(a) <= {"data", "process", "context"} and a.get("context") is None and is_callback(a.get("process")):
        # compiled once for all bands: the callback's `x` is only ever embedded as text
        template = compile_callback(a["process"]["process_graph"], {"x": X_PLACEHOLDER})
        if template is None:
            return None
        exprs = tuple(template.replace(X_PLACEHOLDER, e) for e in data.exprs)
        return replace(data, exprs=exprs, nodes=nodes, raw=False)
    if pid == "reduce_dimension" and set(a) <= {"data", "reducer", "dimension", "context"} and a.get("context") is None:
        if not is_callback(a.get("reducer")):
            return None
        dim = a.get("dimension")
        graph = a["reducer"]["process_graph"]
        if dim == "bands" and data.labels is not None:
            expr = compile_callback(graph, {"data": list(zip(data.labels, data.exprs))})
            if expr is None:
                return None
            return replace(data, labels=None, exprs=(expr,), nodes=nodes, raw=False)
        if dim == "t" and data.mode == "temporal" and len(graph) == 1:
            (inner,) = graph.values()
            fn = inner.get("process_id")
            args = inner.get("arguments", {})
            if fn not in T_REDUCERS or args.get("data") != {"from_parameter": "data"}:
                return None
            if set(args) - {"data", "ignore_nodata"} or args.get("ignore_nodata", True) is not True:
                return None
            if fn in ("first", "last") and data.raw and "order" not in data.opts():
                # a SIMPLE mosaic is exactly the first/last valid observation
                order = "leastRecent" if fn == "first" else "mostRecent"
                return replace(data, mode="simple", nodes=nodes, raw=False, options=data.options + (("order", order),))
            exprs = tuple(f"{T_REDUCERS[fn]}(MAP(S,function(s){{return {e};}}))" for e in data.exprs)
            return replace(data, mode="reduced", exprs=exprs, nodes=nodes, raw=False)
        return None
    if pid == "mask" and set(a) <= {"data", "mask", "replacement"}:
        mask = _input(a, "mask", syms)
        repl = literal(a.get("replacement"))
        if mask is None or repl is None or data.raw is None:
            return None
        if (mask.collection, mask.load_key, mask.mode, mask.options) != (data.collection, data.load_key, data.mode, data.options):
            return None
        if mask.mode == "reduced":
            return None
        if mask.labels is None:
            m_exprs = mask.exprs * len(data.exprs)
        elif mask.labels == data.labels:
            m_exprs = mask.exprs
        else:
            return None
        exprs = tuple(f"MK({m},{d},{repl})" for m, d in zip(m_exprs, data.exprs))
        reads = tuple(dict.fromkeys(data.reads + mask.reads))
        return replace(data, exprs=exprs, reads=reads, loads=data.loads | mask.loads, nodes=nodes | mask.nodes, raw=False)
    if pid == "resample_spatial" and data.raw and len(data.loads) == 1 and not any(k in ("resample", "sar") for k, _ in data.options):
        method = a.get("method", "near")
        if method not in RESAMPLE_METHODS or a.get("align", "upper-left") != "upper-left":
            return None
        spec = {"resolution": a.get("resolution", 0), "projection": a.get("projection"), "method": method}
        return replace(data, nodes=nodes, options=data.options + (("resample", json.dumps(spec)),))
    if pid == "sar_backscatter" and data.raw and len(data.loads) == 1 and catalogue()[data.collection].is_sar:
        if any(k == "sar" for k, _ in data.options):
            return None
        spec = {k: v for k, v in a.items() if k != "data"}
        labels, exprs, reads = list(data.labels or ()), list(data.exprs), list(data.reads)
        for flag, band in (("local_incidence_angle", "localIncidenceAngle"), ("mask", "shadowMask"),
                           ("contributing_area", "scatteringArea")):
            if spec.get(flag) and band not in labels:
                labels.append(band)
                exprs.append(f"s.{band}")
                reads.append(band)
        return replace(data, labels=tuple(labels), exprs=tuple(exprs), reads=tuple(reads), nodes=nodes,
                       options=data.options + (("sar", json.dumps(spec, sort_keys=True)),))
    return None


def consumers(graph: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {nid: set() for nid in graph}
    for nid, node in graph.items():
        for value in node.get("arguments", {}).values():
            for ref in iter_refs(value):
                if "from_node" in ref and ref["from_node"] in out:
                    out[ref["from_node"]].add(nid)
    return out


@dataclass
class Cover:
    result: str
    sym: Sym
    absorbed: list[str] = field(default_factory=list)


def choose_covers(graph: dict, order: list[str], syms: dict[str, Sym], result_node: str) -> list[Cover]:
    """One Cover per load_collection node group: the largest valid push-down for it."""
    users = consumers(graph)
    position = {nid: i for i, nid in enumerate(order)}
    candidates = sorted(syms, key=lambda n: (-len(syms[n].nodes), position[n]))
    covered: set[str] = set()
    covers = []
    for r in candidates:
        sym = syms[r]
        if sym.nodes & covered:
            continue
        ok = all(users[n] <= sym.nodes for n in sym.nodes if n != r)
        if not ok:
            continue
        covered |= sym.nodes
        covers.append(Cover(r, sym, sorted((n for n in sym.nodes if n != r), key=position.get)))
    return covers
