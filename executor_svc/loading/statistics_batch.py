"""A statistical aggregation over many geometries as one Batch Statistical request: the geometries
go to S3 as a GeoPackage (`identifier` = the geometry's index), Sentinel Hub writes one JSON per
feature next to it, the executor polls the task's status and reads them back into the vector cube
of `loading/statistics.py`. The objects are deleted afterwards; a run that is cancelled stops the
Sentinel Hub task.

Batch Statistical has no per-feature grid: Sentinel Hub samples each feature's own bounds at the
request's `resx`/`resy` (the load's pixel size), so pixels are not aligned with the raster path's
grid and values differ from it by the sub-pixel shift (small for smooth data)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid

import numpy as np

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .fetch import deployment_for
from .statistics import StatisticalResult, interval_values, percentile_key, vector_cube

log = get_logger(__name__)

FINAL = ("DONE", "FAILED", "STOPPED", "PARTIAL")


def geopackage_bytes(agg) -> bytes:
    """The GeoPackage of the geometries that have pixels (in the grid's CRS; CPU work)."""
    import pyogrio
    import shapely
    from shapely.geometry import shape

    rows = [(i, shape(json.loads(g.geometry_json))) for i, g in enumerate(agg.geometries) if g.geometry_json]
    geoms = [shapely.multipolygons([geom]) if geom.geom_type == "Polygon" else geom for _, geom in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "features.gpkg")
        pyogrio.raw.write(path, geometry=np.array(shapely.to_wkb(geoms), dtype=object),
                          field_data=[np.array([str(i) for i, _ in rows], dtype=object)], fields=["identifier"],
                          driver="GPKG", geometry_type="MultiPolygon", crs=f"EPSG:{agg.geometries[0].bbox.epsg}")
        with open(path, "rb") as f:
            return f.read()


def batch_request(agg, features_url: str, output_url: str, credentials: dict) -> dict:
    first = next(g for g in agg.geometries if g.geometry_json)
    res_x = (first.bbox.east - first.bbox.west) / first.width
    res_y = (first.bbox.north - first.bbox.south) / first.height
    data_filter = {k: v for k, v in json.loads(agg.data_filter_json or "{}").items() if k != "timeRange"}
    data = {"type": agg.sh_type, "dataFilter": data_filter}
    processing = json.loads(agg.processing_json or "{}")
    if processing:
        data["processing"] = processing
    body = {"input": {"features": {"s3": {"url": features_url, **credentials}}, "data": [data]},
            "aggregation": {"timeRange": {"from": agg.time_from, "to": agg.time_to},
                            "aggregationInterval": {"of": agg.interval, "lastIntervalBehavior": "SHORTEN"},
                            "evalscript": agg.evalscript, "resx": res_x, "resy": res_y},
            "output": {"s3": {"url": output_url, **credentials}}}
    key = percentile_key(agg)
    if key is not None:
        body["calculations"] = {"default": {"statistics": {"default": {"percentiles": {"k": [float(key)]}}}}}
    return body


def feature_values(doc: dict, agg) -> dict[str, list[float]]:
    """{interval start: values} of one feature's result file; OpenEOError naming the feature when
    Sentinel Hub failed it."""
    name = doc.get("identifier", doc.get("id"))
    response = doc.get("response") or {}
    if "error" in doc or response.get("status") != "OK":
        error = doc.get("error") or {}
        reason = error.get("message") or error.get("type") or response.get("status") or "unknown"
        raise OpenEOError("SentinelHubError", f"Sentinel Hub's Batch Statistical failed geometry {name}: {reason}.", 502)
    n_out = max(1, len(agg.band_labels))
    values = {}
    for item in response.get("data") or []:
        if "error" in item:
            raise OpenEOError("SentinelHubError", f"Sentinel Hub's Batch Statistical failed geometry {name} for "
                              f"{(item.get('interval') or {}).get('from')}: {(item['error'] or {}).get('type')}.", 502)
        values[item["interval"]["from"]] = interval_values(item, agg, n_out)
    return values


class BatchStatisticalRun:
    """One Batch Statistical request of a statistical aggregation (create, start, poll, read)."""

    def __init__(self, agg, sh_client, storage, *, token: str | None, poll_seconds: float = 2.0,
                 max_poll_seconds: float = 20.0, pool=None, on_progress=None):
        self.agg = agg
        self.sh = sh_client
        self.storage = storage
        self.token = token
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds
        self.pool = pool
        #: on_progress(Sentinel Hub's completion percentage) while the task runs
        self.on_progress = on_progress
        self.prefix = f"statistics-batch/{uuid.uuid4().hex}/"
        self.task_id: str | None = None

    def _url(self, key: str) -> str:
        return f"s3://{self.storage.bucket}/{key}"

    async def run(self) -> StatisticalResult:
        agg = self.agg
        if not any(g.geometry_json for g in agg.geometries):  # no geometry has a pixel: all NaN, no request
            return StatisticalResult(agg.node_id, vector_cube(agg, [{} for _ in agg.geometries]), 0.0, 0)
        deployment = deployment_for(agg, self.sh)
        loop = asyncio.get_running_loop()
        try:
            gpkg = await loop.run_in_executor(self.pool, geopackage_bytes, agg)
            await self.storage.put_bytes(self.prefix + "features.gpkg", gpkg, "application/geopackage+sqlite3")
            s3 = self.storage.config
            credentials = {"accessKey": s3.access_key, "secretAccessKey": s3.secret_key}
            if getattr(s3, "region", None):
                credentials["region"] = s3.region
            body = batch_request(agg, self._url(self.prefix + "features.gpkg"),
                                 self._url(self.prefix + "out/<IDENTIFIER>.json"), credentials)
            task = await self.sh.batch_statistics("POST", "", body, token=self.token, deployment=deployment)
            self.task_id = task["id"]
            log.info("batch_statistics_created", node_id=agg.node_id, task=self.task_id,
                     geometries=len(agg.geometries))
            await self.sh.batch_statistics("POST", f"/{self.task_id}/start", None, token=self.token, deployment=deployment)
            status = await self._wait(deployment)
            if status.get("status") != "DONE":
                reason = status.get("error") or status.get("stoppedStatusReason") or status.get("status")
                raise OpenEOError("SentinelHubError", f"Sentinel Hub's Batch Statistical request ended "
                                  f"{status.get('status')}: {reason}.", 502)
            per_geometry = []
            for i, g in enumerate(agg.geometries):
                if not g.geometry_json:
                    per_geometry.append({})
                    continue
                doc = json.loads(await self.storage.get_bytes(f"{self.prefix}out/{i}.json"))
                per_geometry.append(feature_values(doc, agg))
            cube = vector_cube(agg, per_geometry)
            pu = float(status.get("costPU") or 0.0)
            log.info("batch_statistics_done", node_id=agg.node_id, task=self.task_id, processing_units=pu)
            return StatisticalResult(agg.node_id, cube, pu, 1)
        except asyncio.CancelledError:
            if self.task_id is not None:  # nobody waits any more: stop Sentinel Hub's task too
                await asyncio.shield(self._stop(deployment))
            raise
        finally:
            await asyncio.shield(self._cleanup())

    async def _wait(self, deployment) -> dict:
        delay = self.poll_seconds
        started = time.monotonic()
        while True:
            status = await self.sh.batch_statistics("GET", f"/{self.task_id}/status", None, token=self.token,
                                                    deployment=deployment)
            if status.get("status") in FINAL:
                return status
            if self.on_progress is not None and isinstance(status.get("completionPercentage"), (int, float)):
                self.on_progress(float(status["completionPercentage"]))
            log.debug("batch_statistics_progress", task=self.task_id, status=status.get("status"),
                      percent=status.get("completionPercentage"), seconds=round(time.monotonic() - started, 1))
            await asyncio.sleep(delay)
            delay = min(self.max_poll_seconds, delay * 1.5)

    async def _stop(self, deployment) -> None:
        try:
            await self.sh.batch_statistics("POST", f"/{self.task_id}/stop", None, token=self.token, deployment=deployment)
        except Exception as exc:  # noqa: BLE001 - best effort while being cancelled
            log.warning("batch_statistics_stop_failed", task=self.task_id, error=str(exc))

    async def _cleanup(self) -> None:
        try:
            await self.storage.delete_prefix(self.prefix)
        except Exception as exc:  # noqa: BLE001 - leftover objects are harmless
            log.warning("batch_statistics_cleanup_failed", prefix=self.prefix, error=str(exc))
