"""The image strategy (`RESULT_STRATEGY_IMAGE`, chosen by the compiler): Sentinel Hub renders
the final image with the load's `image_evalscript`, and its response is the result file.

A response that is not one image of exactly one date (a temporal load) falls back to the cube
strategy, as do Sentinel Hub errors, so the cube path reports them exactly as it always does."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Executor
from dataclasses import dataclass

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger
from executor_svc.encoding.encode import file_prefix
from executor_svc.loading.fetch import deployment_for
from executor_svc.loading.request import process_request
from executor_svc.sentinelhub.decode import is_tar, split_tar

log = get_logger(__name__)


@dataclass
class ResultFile:
    """A result file made in memory by a fast path."""

    data: bytes
    media_type: str
    filename: str
    processing_units: float


def image_request(plan) -> tuple[dict, str]:
    """(Process API body, Accept) of the plan's image: the single load with its image evalscript.
    A temporal load also returns `userdata` (tar), so that its dates can be checked."""
    load = plan.loads[0]
    media = plan.output.media_type
    request = process_request(load)
    request["evalscript"] = load.image_evalscript
    responses = [{"identifier": "default", "format": {"type": media}}]
    if load.temporal:
        responses.append({"identifier": "userdata", "format": {"type": "application/json"}})
    request["output"]["responses"] = responses
    return request, ("application/x-tar" if load.temporal else media)


def image_from_response(content: bytes, content_type: str, extension: str, temporal: bool) -> bytes | None:
    """The image of a response; None (fall back) unless it is one image of exactly one date
    (temporal loads). CPU: run in the pool."""
    if not temporal:
        return None if is_tar(content, content_type) else content
    if not is_tar(content, content_type):
        return None
    members = split_tar(content)
    try:
        userdata = json.loads(members.get("userdata.json") or b"null")
    except ValueError:
        return None
    dates = userdata.get("dates") if isinstance(userdata, dict) else None
    name = f"default.{extension}"
    if not isinstance(dates, list) or len(dates) != 1 or name not in members:
        return None
    return members[name]


def result_filename(plan) -> str:
    options = json.loads(plan.output.options_json or "{}")
    prefix = file_prefix(options)
    return f"{prefix}.{plan.output.extension}"


async def render_image(plan, sh_client, pool: Executor, token: str | None) -> ResultFile | None:
    """The result image, or None when the response needs the cube strategy."""
    request, accept = image_request(plan)
    load = plan.loads[0]
    try:
        response = await sh_client.process(request, token=token, deployment=deployment_for(load, sh_client), accept=accept)
    except OpenEOError as exc:
        log.info("image_fast_path_failed", node_id=load.node_id, code=exc.code)
        return None
    data = await asyncio.get_running_loop().run_in_executor(
        pool, image_from_response, response.content, response.content_type, plan.output.extension, load.temporal)
    if data is None:
        log.info("image_fast_path_fallback", node_id=load.node_id, processing_units=response.processing_units)
        return None
    return ResultFile(data, plan.output.media_type, result_filename(plan), response.processing_units)
