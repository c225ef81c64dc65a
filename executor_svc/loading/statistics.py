"""aggregate_spatial through Sentinel Hub's Statistical API (`StatisticalAggregation` of the plan):
one request per geometry, concurrently, and the vector cube the raster path's aggregate_spatial
gives (dims `geometry[, t][, bands]`, the geometries and properties as given).

The reducer's value from a band's statistics: `count` = sampleCount - noDataCount (the evalscript's
`dataMask` is 0 where the value is NaN, which openEO's reducers skip), `sum` = mean x count, `sd` /
`variance` from `stDev` (the sample standard deviation, as openEO's), `median` / `quantiles` from
the percentiles asked for. No valid pixel: NaN, and 0 for `count`."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .cube import time_labels
from .fetch import deployment_for

log = get_logger(__name__)

#: interval errors Sentinel Hub may succeed with on a second try (sentinelhub-py retries these)
RETRIED_INTERVAL_ERRORS = ("EXECUTION_ERROR", "TIMEOUT")


@dataclass
class StatisticalResult:
    node_id: str
    cube: xr.DataArray
    processing_units: float
    requests: int


def percentile_key(agg) -> str | None:
    """The percentile the reducer needs, as Sentinel Hub keys it ("50.0")."""
    if agg.reducer == "median":
        return "50.0"
    if agg.reducer == "quantiles":
        return str(float(round(agg.probability * 100, 10)))
    return None


def statistical_request(agg, geometry, time_range: tuple[str, str] | None = None) -> dict:
    data_filter = {k: v for k, v in json.loads(agg.data_filter_json or "{}").items() if k != "timeRange"}
    data = {"type": agg.sh_type, "dataFilter": data_filter}
    processing = json.loads(agg.processing_json or "{}")
    if processing:
        data["processing"] = processing
    b = geometry.bbox
    t_from, t_to = time_range or (agg.time_from, agg.time_to)
    body = {"input": {"bounds": {"bbox": [b.west, b.south, b.east, b.north], "geometry": json.loads(geometry.geometry_json),
                                 "properties": {"crs": f"http://www.opengis.net/def/crs/EPSG/0/{b.epsg}"}},
                      "data": [data]},
            "aggregation": {"timeRange": {"from": t_from, "to": t_to},
                            "aggregationInterval": {"of": agg.interval, "lastIntervalBehavior": "SHORTEN"},
                            "evalscript": agg.evalscript, "width": geometry.width, "height": geometry.height}}
    key = percentile_key(agg)
    if key is not None:
        body["calculations"] = {"default": {"statistics": {"default": {"percentiles": {"k": [float(key)]}}}}}
    return body


def _number(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan  # "NaN" (every pixel masked) or missing


def reduced_value(stats: dict, agg) -> float:
    count = int(stats.get("sampleCount", 0)) - int(stats.get("noDataCount", 0))
    if agg.reducer == "count":
        return float(count)
    if count <= 0:
        return math.nan
    if agg.reducer == "mean":
        return _number(stats.get("mean"))
    if agg.reducer == "min":
        return _number(stats.get("min"))
    if agg.reducer == "max":
        return _number(stats.get("max"))
    if agg.reducer == "sum":
        return _number(stats.get("mean")) * count
    if agg.reducer in ("sd", "variance"):
        sd = _number(stats.get("stDev")) if count > 1 else math.nan
        return sd if agg.reducer == "sd" else sd * sd
    key = percentile_key(agg)
    if key is not None:
        return _number((stats.get("percentiles") or {}).get(key))
    raise OpenEOError("Internal", f"Unsupported statistical reducer {agg.reducer!r}.", 500)


def interval_values(item: dict, agg, n_out: int) -> list[float]:
    """The reduced value of every output (band) of one interval of a response."""
    outputs = item.get("outputs") or {}
    values = []
    for i in range(n_out):
        bands = (outputs.get(f"o{i}") or {}).get("bands") or {}
        stats = next(iter(bands.values()), {}).get("stats") if bands else None
        if not isinstance(stats, dict):
            raise OpenEOError("SentinelHubError", f"Sentinel Hub's statistics lack the output o{i}.", 502)
        values.append(reduced_value(stats, agg))
    return values


def vector_cube(agg, per_geometry: list[dict[str, list[float]]]) -> xr.DataArray:
    """The vector cube of the raster path's aggregate_spatial from {interval start: values} per
    geometry (a geometry without a request or interval is NaN there)."""
    from executor_svc.processes.vector import parse_geometries

    labels = list(agg.band_labels)
    n_out = max(1, len(labels))
    geoms, props = parse_geometries(json.loads(agg.geometries_json))
    if len(geoms) != len(per_geometry):
        raise OpenEOError("Internal", "The statistics plan does not match its geometries.", 500)
    if agg.temporal:
        starts = sorted({start for values in per_geometry for start in values})
        data = np.full((len(geoms), len(starts), n_out), np.nan)
        for g, values in enumerate(per_geometry):
            for t, start in enumerate(starts):
                if start in values:
                    data[g, t] = values[start]
        dims, coords = ["geometry", "t", "bands"], {"geometry": np.arange(len(geoms)), "t": time_labels(starts)}
    else:
        data = np.full((len(geoms), n_out), np.nan)
        for g, values in enumerate(per_geometry):
            if values:
                data[g] = next(iter(values.values()))
        dims, coords = ["geometry", "bands"], {"geometry": np.arange(len(geoms))}
    if labels:
        coords["bands"] = np.array(labels, dtype=object)
    else:
        data = data[..., 0]
        dims.remove("bands")
    types = {"geometry": "geometry"} | ({"t": "temporal"} if agg.temporal else {}) | ({"bands": "bands"} if labels else {})
    attrs = {"crs": 4326, "geometries": geoms, "properties": props, "dimension_types": types}
    return xr.DataArray(data, dims=dims, coords=coords, attrs=attrs)


async def _one_geometry(agg, geometry, sh_client, token, deployment) -> tuple[dict[str, list[float]], float, int]:
    n_out = max(1, len(agg.band_labels))
    doc, pu = await sh_client.statistics(statistical_request(agg, geometry), token=token, deployment=deployment)
    requests = 1
    values: dict[str, list[float]] = {}
    for item in doc.get("data") or []:
        interval = item.get("interval") or {}
        start = interval.get("from")
        if "error" in item:
            kind = (item.get("error") or {}).get("type")
            if kind not in RETRIED_INTERVAL_ERRORS:
                raise OpenEOError("SentinelHubError", f"Sentinel Hub's statistics failed for {start}: {kind}.", 502)
            # once more for that interval alone, as sentinelhub-py does
            again, more = await sh_client.statistics(statistical_request(agg, geometry, (start, interval.get("to"))),
                                                     token=token, deployment=deployment)
            requests += 1
            pu += more
            items = [i for i in again.get("data") or [] if "error" not in i]
            if len(items) != len(again.get("data") or []):
                raise OpenEOError("SentinelHubError", f"Sentinel Hub's statistics failed twice for {start}: {kind}.", 502)
            for retried in items:
                values[retried["interval"]["from"]] = interval_values(retried, agg, n_out)
            continue
        values[start] = interval_values(item, agg, n_out)
    return values, pu, requests


async def fetch_statistics(agg, sh_client, *, token: str | None, max_concurrent: int = 4) -> StatisticalResult:
    """The vector cube of one statistical aggregation (every geometry's request, concurrently)."""
    deployment = deployment_for(agg, sh_client)
    semaphore = asyncio.Semaphore(max_concurrent)

    async def one(geometry):
        if not geometry.geometry_json:
            return {}, 0.0, 0
        async with semaphore:
            return await _one_geometry(agg, geometry, sh_client, token, deployment)

    answers = await asyncio.gather(*(one(g) for g in agg.geometries))
    cube = vector_cube(agg, [values for values, _, _ in answers])
    pu = sum(p for _, p, _ in answers)
    requests = sum(r for _, _, r in answers)
    log.info("statistics_fetched", node_id=agg.node_id, collection=agg.collection_id, geometries=len(agg.geometries),
             requests=requests, processing_units=pu)
    return StatisticalResult(agg.node_id, cube, pu, requests)
