"""`load_result` (and `load_stac` of this back-end's results) as typed plan sources (pure).

A top-level `load_result` whose arguments are fixed values becomes a `ResultSource`: the job id
(a results URL of this back-end resolved to its job) and the filters. The executor fetches its
cube before evaluation and seeds the node, as it does for Sentinel Hub loads. Whether the job is
the caller's and finished is checked when the plan runs (a batch job may be compiled before the
job it loads has finished)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlparse

from backend_proto.v1 import compiler_pb2
from compiler_svc.graph import contains_ref
from compiler_svc.problems import Problem, ProblemError

JOB_ID_PATTERN = r"[\w\-.~]{1,128}"
FILTERS = ("spatial_extent", "temporal_extent", "bands")


def _invalid(reason: str, node_id: str) -> ProblemError:
    return ProblemError(Problem("ProcessParameterInvalid", f"load_result: {reason}", node_id, "id"))


def job_id_of(value: Any, node_id: str = "", public_url: str = "") -> str:
    """The job id of `load_result`'s `id`: a job id, or a URL of a job's results on this back-end
    (`public_url`: the API's public base URL; "" takes any host)."""
    if not isinstance(value, str) or not value:
        raise _invalid("'id' must be a batch job id or a results URL.", node_id)
    if re.fullmatch(JOB_ID_PATTERN, value) and value not in (".", ".."):
        return value
    if re.match(r"^https?://", value, re.IGNORECASE):
        url = urlparse(value)
        public = public_url.rstrip("/")
        base = urlparse(public).path.rstrip("/") if public else ""
        if public and (url.scheme, url.netloc) != (urlparse(public).scheme, urlparse(public).netloc):
            raise _invalid("only result URLs of this back-end can be loaded.", node_id)
        path = unquote(url.path)
        if base and path.startswith(base + "/"):
            path = path[len(base):]
        match = re.fullmatch(rf"/jobs/({JOB_ID_PATTERN})/results(?:/item\.json|/assets/[^/]+)?/?", path)
        if match and match.group(1) not in (".", ".."):
            return match.group(1)
        raise _invalid("the URL is not a batch job results URL of this back-end.", node_id)
    raise ProblemError(Problem("JobNotFound", "The batch job does not exist.", node_id, "id", 404))


def _json_or_empty(args: dict, name: str) -> str:
    return json.dumps(args[name]) if args.get(name) is not None else ""


def result_sources(graph: dict, order: list[str], public_url: str = "") -> list[compiler_pb2.ResultSource]:
    """The sources of the `load_result` nodes in `order` whose arguments are fixed values."""
    sources = []
    for nid in order:
        node = graph[nid]
        if node.get("process_id") != "load_result" or node.get("namespace") not in (None, "backend", "predefined"):
            continue
        args = node.get("arguments") or {}
        if contains_ref(args):
            continue  # computed inside the graph: the executor's load_result process fetches it
        sources.append(compiler_pb2.ResultSource(
            node_id=nid, job_id=job_id_of(args.get("id"), nid, public_url),
            spatial_extent_json=_json_or_empty(args, "spatial_extent"),
            temporal_extent_json=_json_or_empty(args, "temporal_extent"),
            bands_json=_json_or_empty(args, "bands")))
    return sources
