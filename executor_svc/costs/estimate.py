"""The exact PU estimate of a plan: its requests (`costs.requests`) and, for ORBIT loads, the
number of acquisitions each request receives, asked from Sentinel Hub's Catalog (free of PUs
for a date listing on the emulator; a fraction of a PU on Sentinel Hub)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from ..loading.fetch import deployment_for
from .requests import load_cost, planned_requests, requests_pu

log = get_logger(__name__)


def _days_between(start: str, end: str) -> int:
    first = datetime.fromisoformat(start.replace("Z", "+00:00")).date()
    last = datetime.fromisoformat(end.replace("Z", "+00:00")).date()
    return max(1, (last - first).days + 1)


@dataclass(frozen=True)
class Estimate:
    processing_units: float
    requests: int
    exact: bool
    reason: str = ""


def _catalog_query(load) -> tuple[tuple, str] | None:
    """(catalog arguments, reason it is not exact or "") of an ORBIT load with a time range."""
    if not (load.time_from and load.time_to):
        return None
    data_filter = json.loads(load.data_filter_json) if load.data_filter_json else {}
    reason = ""
    if data_filter.get("orbitDirection"):
        reason = ("the orbit direction filter is not queryable in the Catalog: every acquisition of the period "
                  "is counted (an upper bound)")
    cloud = data_filter.get("maxCloudCoverage")
    flt = f"eo:cloud_cover <= {float(cloud):g}" if cloud is not None and float(cloud) < 100 else None
    bbox = (load.bbox.west, load.bbox.south, load.bbox.east, load.bbox.north)
    return (load.sh_type, bbox, load.bbox.epsg or 4326, load.time_from, load.time_to, flt, load.sh_deployment), reason


async def estimate_plan(plan, sh_client, *, token: str | None, batch_job: bool) -> Estimate:
    """PUs of every request `plan` sends (as a batch job's or as a synchronous request's)."""
    config = sh_client.config
    requests = planned_requests(plan, split_threshold=config.split_threshold, tile_size=config.effective_tile_size,
                                batch_job=batch_job)
    costs = [load_cost(load) for load in plan.loads]
    queries: dict[tuple, asyncio.Future] = {}
    reasons: list[str] = []

    async def dates(key: tuple, load) -> int:
        collection, bbox, epsg, start, end, flt, _ = key
        try:
            days = await sh_client.acquisition_dates(collection, list(bbox), (start, end), token=token,
                                                     deployment=deployment_for(load, sh_client), bbox_crs=epsg,
                                                     filter=flt)
        except OpenEOError as exc:
            if exc.status not in (400, 404):
                raise
            # a collection the Catalog does not list (e.g. a BYOC collection of another deployment's
            # catalog): the request itself may still work, so count one acquisition a day
            reasons.append(f"the Catalog does not list {collection}: one acquisition a day is counted (an upper bound)")
            return _days_between(start, end)
        return len(days)

    tasks: list = []
    for load, cost in zip(plan.loads, costs):
        query = _catalog_query(load) if cost.orbit else None
        if query is None:
            tasks.append(None)
            continue
        key, reason = query
        if reason:
            reasons.append(reason)
        if key not in queries:
            queries[key] = asyncio.ensure_future(dates(key, load))
        tasks.append(queries[key])
    try:
        counts = [1 if task is None else await task for task in tasks]
    finally:
        for future in queries.values():
            future.cancel()
    pu = requests_pu(requests, costs, counts)
    log.info("plan_estimate", processing_units=round(pu, 6), requests=len(requests), catalog_queries=len(queries))
    return Estimate(pu, len(requests), not reasons, "; ".join(dict.fromkeys(reasons)))
