"""Batch Statistical API (`/api/v1/statistics/batch`, reference §5.5): tasks over the features of a
GeoPackage in S3, one JSON per feature written to the output bucket with the credentials given.

Workflow as Sentinel Hub's: create → CREATED; analyse → ANALYSING (the GeoPackage is read and
checked) → ANALYSIS_DONE; start → PROCESSING (start on CREATED analyses first) → DONE, or FAILED
when the input cannot be read. Stop is allowed while analysing or processing and blocks a restart
for 30 minutes (60 after OUT_OF_PU: fewer than 1000 PU left while processing). Each feature is a Statistical API computation (`statistics.compute`) of the
feature's bounds at `resx`/`resy`; its PU are billed as they are spent (`costPU` grows) and the
task costs at least 100 PU. Creating, analysing and starting need 1000 PU left when the account
has a quota. Faults per feature (`/_emulator/statistics-batch/faults`) make a feature's result an
`EXECUTION_ERROR` or delay it."""
from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from .errors import SHError, bad_request
from .logs import get_logger
from .process_request import ProcessPlan, _data
from .statistics import StatisticalPlan, _check_calculations, compute, parse_aggregation, sample_size

log = get_logger(__name__)

MIN_TASK_PU = 100.0
MIN_AVAILABLE_PU = 1000.0
STOP_LOCKOUT = timedelta(minutes=30)
OUT_OF_PU_LOCKOUT = timedelta(minutes=60)
MAX_FEATURES = 700_000
MAX_INLINE_EVALSCRIPT = 32 * 1024


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(dt: datetime | None) -> str | None:
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_s3(spec, what: str) -> dict:
    s3 = (spec or {}).get("s3") if isinstance(spec, dict) else None
    url = (s3 or {}).get("url") or (s3 or {}).get("path")
    if not isinstance(url, str) or not url.startswith("s3://") or not urlparse(url).netloc:
        raise bad_request(f"{what}.s3.url must be an s3://bucket/key URL.")
    if not isinstance(s3.get("accessKey"), str) or not isinstance(s3.get("secretAccessKey"), str):
        raise bad_request(f"{what}.s3 needs accessKey and secretAccessKey.")
    return {"url": url, "accessKey": s3["accessKey"], "secretAccessKey": s3["secretAccessKey"],
            "region": s3.get("region")}


def output_key(template: str, request_id: str, feature_id: int, identifier: str | None) -> str:
    """The object URL of one feature's result: a plain prefix means `<url>/<REQUEST_ID>/<ID>.json`."""
    if "<ID>" not in template and "<IDENTIFIER>" not in template:
        template = template.rstrip("/") + "/<REQUEST_ID>/<ID>.json"
    return (template.replace("<REQUEST_ID>", request_id).replace("<ID>", str(feature_id))
            .replace("<IDENTIFIER>", identifier if identifier is not None else str(feature_id)))


def validate_create(body) -> dict:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise bad_request("input is required.")
    if "bounds" in inp:
        raise bad_request("input.bounds is not allowed: the geometries come from input.features.")
    parse_s3(inp.get("features"), "input.features")
    _data(inp.get("data"))
    agg = body.get("aggregation")
    if isinstance(agg, dict) and ("evalscript" in agg) == ("evalscriptReference" in agg):
        raise bad_request("Give exactly one of aggregation.evalscript and aggregation.evalscriptReference.")
    if isinstance(agg, dict) and isinstance(agg.get("evalscript"), str) and len(agg["evalscript"].encode()) >= MAX_INLINE_EVALSCRIPT:
        raise bad_request("An inline evalscript must be smaller than 32 KB; use evalscriptReference.")
    if isinstance(agg, dict) and "evalscriptReference" in agg:
        parse_s3(agg["evalscriptReference"], "aggregation.evalscriptReference")
        parse_aggregation({"aggregation": dict(agg, evalscript="//VERSION=3\n")})
    else:
        parse_aggregation(body)
    if isinstance(agg, dict) and not ({"resx", "resy"} <= set(agg) or {"width", "height"} <= set(agg)):
        raise bad_request("aggregation needs resx and resy.")
    parse_s3(body.get("output"), "output")  # a template with <ID> / <IDENTIFIER>, or a plain prefix
    _check_calculations(body.get("calculations"))
    return body


class OutOfUnits(Exception):
    """The account dropped below the PU a running request needs: the task stops (OUT_OF_PU)."""


@dataclass
class FeatureFault:
    feature_id: int
    count: int = 1  # how many attempts of the feature it applies to
    delay_ms: int = 0  # wait before the feature
    fail: bool = True  # its result is an EXECUTION_ERROR

    @classmethod
    def from_json(cls, doc) -> "FeatureFault":
        if not isinstance(doc, dict) or not isinstance(doc.get("feature_id"), int):
            raise ValueError('expected {"feature_id": 1, "count": 1, "delay_ms": 0, "fail": true}')
        return cls(int(doc["feature_id"]), int(doc.get("count", 1)), int(doc.get("delay_ms", 0)),
                   bool(doc.get("fail", True)))


@dataclass
class Task:
    id: str
    client: str
    request: dict
    created: datetime
    status: str = "CREATED"
    user_action: str = "NONE"
    user_action_updated: datetime | None = None
    completion: float = 0.0
    cost_pu: float = 0.0
    error: str | None = None
    stopped_reason: str | None = None
    last_updated: datetime = field(default_factory=_now)
    stopped_at: datetime | None = None
    features: list | None = None  # [(id, identifier, shapely geometry)] after the analysis
    epsg: int | None = None
    evalscript: str | None = None
    done_features: set = field(default_factory=set)
    runner: asyncio.Task | None = None

    def status_dto(self) -> dict:
        doc = {"id": self.id, "status": self.status, "completionPercentage": round(self.completion, 2),
               "lastUpdated": _ts(self.last_updated), "costPU": round(self.cost_pu, 6), "created": _ts(self.created)}
        if self.error:
            doc["error"] = self.error
        if self.stopped_reason:
            doc["stoppedStatusReason"] = self.stopped_reason
        return doc

    def full_dto(self, account_id: str) -> dict:
        return self.status_dto() | {"request": self.request, "userAction": self.user_action,
                                    "userActionUpdated": _ts(self.user_action_updated), "domainAccountId": account_id}

    def touch(self, status: str | None = None) -> None:
        if status is not None:
            self.status = status
        self.last_updated = _now()


class BatchStatistics:
    """The tasks and their background runs (one asyncio task per started request)."""

    def __init__(self, *, renderer, executor, s3_endpoint: str | None, spend, available_pu):
        self.renderer = renderer
        self.executor = executor
        self.s3_endpoint = s3_endpoint
        self.spend = spend  # spend(client, pu): billing (stats, rate limiter)
        self.available_pu = available_pu  # available_pu(client) -> float | None (None: no quota)
        self.tasks: dict[str, Task] = {}
        self.faults: list[FeatureFault] = []
        self.features_processed = 0

    # -------------------------------------------------------------- requests

    def _check_pu(self, client: str) -> None:
        left = self.available_pu(client)
        if left is not None and left < MIN_AVAILABLE_PU:
            raise SHError(403, f"At least {MIN_AVAILABLE_PU:.0f} processing units must be available for Batch "
                               "Statistical requests.", "COMMON_INSUFFICIENT_PERMISSIONS")

    def get(self, task_id: str, client: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None or task.client != client:
            raise SHError(404, f"Batch statistical request {task_id} not found.", "COMMON_NOT_FOUND")
        return task

    def create(self, body, client: str) -> Task:
        self._check_pu(client)
        validate_create(body)
        task = Task(str(uuid.uuid4()), client, body, _now())
        self.tasks[task.id] = task
        return task

    def list(self, client: str) -> list[Task]:
        return sorted((t for t in self.tasks.values() if t.client == client), key=lambda t: t.created)

    def analyse(self, task: Task) -> None:
        self._check_pu(task.client)
        if task.status != "CREATED":
            raise SHError(409, f"Cannot analyse a request in status {task.status}.", "COMMON_CONFLICT")
        task.user_action, task.user_action_updated = "ANALYSE", _now()
        task.touch("ANALYSING")
        task.runner = asyncio.ensure_future(self._run(task, process=False))

    def start(self, task: Task) -> None:
        if task.status == "STOPPED" and task.stopped_at:
            lockout = OUT_OF_PU_LOCKOUT if task.stopped_reason == "OUT_OF_PU" else STOP_LOCKOUT
            if _now() - task.stopped_at < lockout:
                raise SHError(409, f"A request stopped ({task.stopped_reason}) cannot be restarted for "
                                   f"{lockout.seconds // 60} minutes.", "COMMON_CONFLICT")
        if task.status not in ("CREATED", "ANALYSING", "ANALYSIS_DONE", "STOPPED", "PARTIAL"):
            raise SHError(409, f"Cannot start a request in status {task.status}.", "COMMON_CONFLICT")
        self._check_pu(task.client)
        task.user_action, task.user_action_updated = "START", _now()
        if task.status == "ANALYSING" and task.runner is not None:  # processing follows a successful analysis
            task.runner.add_done_callback(lambda _f: self._start_processing(task) if task.status == "ANALYSIS_DONE" else None)
            return
        self._start_processing(task)

    def _start_processing(self, task: Task) -> None:
        task.stopped_reason = None
        task.touch("PROCESSING" if task.features is not None else "ANALYSING")
        task.runner = asyncio.ensure_future(self._run(task, process=True))

    def stop(self, task: Task) -> None:
        if task.status not in ("ANALYSING", "ANALYSIS_DONE", "PROCESSING"):
            raise SHError(409, f"Cannot stop a request in status {task.status}.", "COMMON_CONFLICT")
        task.user_action, task.user_action_updated = "STOP", _now()
        if task.status == "ANALYSING":
            return  # the analysis still completes, nothing is processed after it
        if task.runner is not None:
            task.runner.cancel()
        task.stopped_at = _now()
        task.stopped_reason = "USER_ACTION"
        task.touch("STOPPED")

    # -------------------------------------------------------------- S3

    def _client(self, s3: dict):
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        return get_session().create_client(
            "s3", endpoint_url=self.s3_endpoint, region_name=s3.get("region") or "us-east-1",
            aws_access_key_id=s3["accessKey"], aws_secret_access_key=s3["secretAccessKey"],
            config=AioConfig(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}))

    async def _read(self, s3: dict, url: str) -> bytes:
        parsed = urlparse(url)
        async with self._client(s3) as client:
            obj = await client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            async with obj["Body"] as body:
                return await body.read()

    @staticmethod
    async def _write(client, url: str, data: bytes) -> None:
        parsed = urlparse(url)
        await client.put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=data,
                                ContentType="application/json")

    # -------------------------------------------------------------- the run

    async def _analyse(self, task: Task) -> None:
        body = task.request
        agg = body["aggregation"]
        if "evalscriptReference" in agg:
            ref = parse_s3(agg["evalscriptReference"], "aggregation.evalscriptReference")
            agg = dict(agg, evalscript=(await self._read(ref, ref["url"])).decode())
            agg.pop("evalscriptReference")
            body = dict(body, aggregation=agg)
        parse_aggregation(body)  # the evalscript is checked at the analysis
        features = parse_s3(body["input"]["features"], "input.features")
        data = await self._read(features, features["url"])
        loop = asyncio.get_running_loop()
        task.epsg, task.features = await loop.run_in_executor(self.executor, read_geopackage, data)
        task.evalscript = agg["evalscript"]

    async def _run(self, task: Task, *, process: bool) -> None:
        try:
            if task.features is None:
                await self._analyse(task)
                if task.user_action == "STOP":
                    task.stopped_at, task.stopped_reason = _now(), "USER_ACTION"
                    task.touch("STOPPED")
                    return
                task.touch("ANALYSIS_DONE")
            if not process:
                return
            task.touch("PROCESSING")
            await self._process(task)
            # the minimum per request, billed at the end
            if task.cost_pu < MIN_TASK_PU:
                self.spend(task.client, MIN_TASK_PU - task.cost_pu)
                task.cost_pu = MIN_TASK_PU
            task.completion = 100.0
            task.touch("DONE")
        except asyncio.CancelledError:
            raise
        except OutOfUnits:
            task.stopped_at, task.stopped_reason = _now(), "OUT_OF_PU"
            task.touch("STOPPED")
        except SHError as exc:
            task.error = exc.message
            task.touch("FAILED")
        except Exception as exc:  # noqa: BLE001 - the task fails with a reason, the server goes on
            log.warning("batch_statistics_failed", task=task.id, error=str(exc))
            task.error = f"Processing failed: {exc.__class__.__name__}: {exc}"
            task.touch("FAILED")

    def _fault_for(self, feature_id: int) -> FeatureFault | None:
        for fault in self.faults:
            if fault.feature_id == feature_id and fault.count > 0:
                fault.count -= 1
                return fault
        return None

    async def _process(self, task: Task) -> None:
        body = task.request
        agg = body["aggregation"]
        _, spans = parse_aggregation({"aggregation": dict(agg, evalscript=task.evalscript)})
        data = _data(body["input"]["data"])
        calculations = _check_calculations(body.get("calculations"))
        out = parse_s3(body["output"], "output")
        async with self._client(out) as client:
            await self._process_features(task, client, out, agg, spans, data, calculations)

    async def _process_features(self, task: Task, client, out: dict, agg: dict, spans, data, calculations) -> None:
        loop = asyncio.get_running_loop()
        total = len(task.features)
        for fid, identifier, geom in task.features:
            if fid in task.done_features:
                continue
            fault = self._fault_for(fid)
            if fault is not None and fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            doc: dict = {"id": fid, "identifier": identifier}
            pu = 0.0
            if fault is not None and fault.fail:
                doc["error"] = {"type": "EXECUTION_ERROR", "message": "Injected feature fault."}
            else:
                try:
                    plan = feature_plan(geom, task.epsg, data, agg, task.evalscript, spans, calculations)
                    response, pu = await loop.run_in_executor(self.executor, compute, self.renderer, plan)
                    doc["response"] = response
                except SHError as exc:
                    doc["error"] = {"type": "BAD_REQUEST" if exc.status == 400 else "EXECUTION_ERROR",
                                    "message": exc.message}
            await self._write(client, output_key(out["url"], task.id, fid, identifier), json.dumps(doc).encode())
            if pu:
                self.spend(task.client, pu)
                task.cost_pu += pu
            task.done_features.add(fid)
            self.features_processed += 1
            task.completion = 100.0 * len(task.done_features) / max(1, total)
            task.touch()
            left = self.available_pu(task.client)
            if left is not None and left < MIN_AVAILABLE_PU and len(task.done_features) < total:
                raise OutOfUnits()


def feature_plan(geom, epsg: int, data, agg: dict, evalscript: str, spans, calculations) -> StatisticalPlan:
    """One feature's Statistical API computation: its bounds at the request's resolution."""
    from shapely.geometry import mapping

    bbox = geom.bounds
    width, height = sample_size(agg, bbox)
    base = ProcessPlan(bbox, epsg, json.loads(json.dumps(mapping(geom))), width, height, data, [], evalscript, None)
    return StatisticalPlan(base, spans, calculations)


def read_geopackage(data: bytes) -> tuple[int, list]:
    """(EPSG code, [(feature id, identifier or None, shapely polygon)]) of a GeoPackage's first layer."""
    import pyogrio
    import shapely
    from pyproj import CRS

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "features.gpkg")
        with open(path, "wb") as f:
            f.write(data)
        try:
            meta, fids, geometry, fields = pyogrio.raw.read(path, return_fids=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable input is the user's
            raise bad_request(f"input.features is not a readable GeoPackage: {exc}") from None
    if len(fids) > MAX_FEATURES:
        raise bad_request(f"The GeoPackage has {len(fids)} features; at most {MAX_FEATURES} are allowed.")
    try:
        epsg = CRS.from_user_input(meta["crs"]).to_epsg() if meta.get("crs") else None
    except Exception:  # noqa: BLE001
        epsg = None
    if epsg is None:
        raise bad_request("The GeoPackage's features need a CRS with an EPSG code.")
    names = list(meta.get("fields") or [])
    identifiers = fields[names.index("identifier")] if "identifier" in names else [None] * len(fids)
    out = []
    for fid, wkb, ident in zip(fids, geometry, identifiers):
        geom = shapely.from_wkb(wkb) if wkb is not None else None
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise bad_request(f"Feature {int(fid)} of the GeoPackage is not a polygon.")
        out.append((int(fid), None if ident is None else str(ident), geom))
    return epsg, out
