"""The GTiff pass-through (`RESULT_STRATEGY_GTIFF_PASSTHROUGH`, chosen by the compiler): a plan
whose whole result is one Sentinel Hub load saved as GTiff (all per-pixel work pushed into the
evalscript, one request) needs no data cube.
GDAL turns Sentinel Hub's FLOAT32 TIFF into the COG directly, with the metadata the normal path
gives it (grid, band names, NaN no-data, datetime tag), so the file is the one the normal path
(decode, cube, evaluation, `write_cog`) would write, at about two thirds of its CPU time.

Anything this does not cover falls back to the normal path with the response already fetched,
so Sentinel Hub is never asked twice."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timezone

from backend_common.logging import get_logger
from executor_svc.encoding.encode import file_prefix
from executor_svc.encoding.gtiff import cog_from_tiff
from executor_svc.encoding.raster import date_label, transform_from_centres
from executor_svc.fast_paths.image import ResultFile
from executor_svc.loading.cube import cube_from_raster, parse_userdata, pixel_centres, time_labels
from executor_svc.loading.fetch import LoadedCube, deployment_for
from executor_svc.loading.request import process_request
from executor_svc.sentinelhub.decode import decode_response, is_tar, split_tar

log = get_logger(__name__)


@dataclass
class PassthroughFile:
    data: bytes
    filename: str
    media_type: str


def date_tag(text: str) -> str:
    """The label the normal path gives a userdata date (`date_label` of `time_labels`), read
    without pandas for the ISO 8601 the evalscripts write (pure)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return date_label(time_labels([text])[0])
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_passthrough(content: bytes, content_type: str, load, output, options: dict) -> PassthroughFile | None:
    """The COG of a pass-through response, or None when the response is not one image of at most
    one date in the plan's grid (CPU: run in the pool)."""
    if is_tar(content, content_type):
        members = split_tar(content)
        try:
            userdata = json.loads(members.get("userdata.json") or b"null")
        except ValueError:
            return None
        tiff = members.get("default.tif") or members.get("default.tiff")
    else:
        userdata, tiff = None, content
    if not tiff:
        return None
    dates, bands = parse_userdata(userdata, load)
    temporal = bool(load.temporal) or bool(dates)
    if temporal and len(dates) != 1:
        return None  # no date (NoDataAvailable) or several files: the normal path
    # the names `encode_result` gives the cube that `cube_from_raster` would build
    names = bands or [output.band_name or "band"]
    tags = None
    if temporal:
        tags = {"datetime": date_tag(dates[0])}
    xs, ys = pixel_centres(load, load.width, load.height)
    bbox = load.bbox  # the pixel size also when a side is one pixel
    transform = transform_from_centres(xs, ys, (bbox.east - bbox.west) / load.width, (bbox.north - bbox.south) / load.height)
    data = cog_from_tiff(tiff, transform=transform, epsg=int(load.bbox.epsg or 4326),
                         band_names=names, tags=tags, size=(load.width, load.height))
    if data is None:
        return None
    prefix = file_prefix(options)
    return PassthroughFile(data, f"{prefix}.{output.extension}", output.media_type)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def run_passthrough(plan, sh_client, pool: Executor, token: str | None
                          ) -> tuple[ResultFile | None, LoadedCube | None]:
    """(the result file, None), or (None, the fetched load as a cube) when the response needs the
    cube strategy: hand that to the runner, so that Sentinel Hub is not asked twice."""
    load = plan.loads[0]
    options = json.loads(plan.output.options_json or "{}")
    started = time.perf_counter()
    response = await sh_client.process(process_request(load), token=token, deployment=deployment_for(load, sh_client))
    fetched = time.perf_counter()

    def encode():
        made = encode_passthrough(response.content, response.content_type, load, plan.output, options)
        if made is not None:
            return made, None
        decoded = decode_response(response.content, response.content_type, "default")
        return None, cube_from_raster(decoded.data, decoded.userdata, load, decoded.nodata)

    made, cube = await asyncio.get_running_loop().run_in_executor(pool, encode)
    if made is None:
        log.info("gtiff_passthrough_fallback", node_id=load.node_id)
        return None, LoadedCube(load.node_id, load.result_node_id or load.node_id, cube, response.processing_units, 1)
    log.info("execute_result", format=plan.output.format, filename=made.filename, size=len(made.data),
             processing_units=response.processing_units, passthrough=True, fetch_ms=_ms(fetched - started),
             evaluate_ms=0.0, finish_ms=_ms(time.perf_counter() - fetched))
    return ResultFile(made.data, made.media_type, made.filename, response.processing_units), None
