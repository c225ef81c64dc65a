"""HTTP handlers of `/api/v2/batch` (reference §5.2): create, list, get, update, analyse, start, stop, grids."""
from __future__ import annotations

import copy
import json

from aiohttp import web

from ..errors import SHError, bad_request
from ..request_body import read_body
from .delivery import DeliveryError
from .grids import GRIDS
from .request import parse_task_request
from .runner import BatchRunner
from .tasks import Task

RUNNER = web.AppKey("batch_runner", BatchRunner)
LIST_LIMIT = 100


def _principal(request: web.Request):
    from ..app import PRINCIPAL

    return request[PRINCIPAL]


def _task(request: web.Request) -> Task:
    task = request.app[RUNNER].tasks.get(request.match_info["task_id"])
    if task is None or task.account != _principal(request).account:
        raise SHError(404, f"Batch task {request.match_info['task_id']} not found.", "COMMON_NOT_FOUND")
    return task


def _stored_body(body: dict) -> dict:
    """The create body as Sentinel Hub returns it: the bucket secret is not echoed."""
    out = copy.deepcopy(body)
    s3 = ((out.get("output") or {}).get("delivery") or {}).get("s3")
    if isinstance(s3, dict) and "secretAccessKey" in s3:
        s3["secretAccessKey"] = "********"
    return out


async def _body(request: web.Request) -> dict:
    body, script = await read_body(request)
    if script is not None and isinstance(body.get("processRequest"), dict):
        body["processRequest"]["evalscript"] = script
    return body


def _check_account_pu(request: web.Request) -> None:
    """Sentinel Hub requires an account to hold at least 1000 PU to create or start a batch task."""
    from ..app import CONFIG, STATS

    quota = request.app[CONFIG].pu_quota
    if quota is None:
        return
    left = quota - request.app[STATS].pu_by_client[_principal(request).client_id]
    if left < request.app[RUNNER].settings.min_account_pu:
        raise SHError(403, f"Batch processing needs at least {request.app[RUNNER].settings.min_account_pu:g} PU "
                      f"on the account ({left:g} left).", "COMMON_INSUFFICIENT_PERMISSIONS")


async def create(request: web.Request) -> web.Response:
    from ..app import STATS

    body = await _body(request)
    req = parse_task_request(body)
    _check_account_pu(request)
    principal = _principal(request)
    task = Task(req, _stored_body(body), principal.account, principal.client_id)
    runner = request.app[RUNNER]
    try:
        await runner.write_request_copy(task)
    except DeliveryError as exc:
        raise bad_request(str(exc)) from None
    runner.tasks[task.id] = task
    request.app[STATS].batch["tasks_created"] += 1
    return web.json_response(task.as_json(), status=201)


async def list_tasks(request: web.Request) -> web.Response:
    q = request.query
    try:
        count = min(LIST_LIMIT, max(1, int(q.get("count", LIST_LIMIT))))
        offset = int(q.get("viewtoken", 0))
    except ValueError:
        raise bad_request("count and viewtoken must be integers.") from None
    account = _principal(request).account
    tasks = [t for t in request.app[RUNNER].tasks.values() if t.account == account]
    search = q.get("search")
    if search:
        words = [w for w in search.replace("&", "|").split("|") if w]
        tasks = [t for t in tasks if any(w in json.dumps(t.body.get("description", "")) or w == t.id for w in words)]
    sort = q.get("sort", "created")
    key, _, desc = sort.partition(":")
    if key not in ("created", "status"):
        raise bad_request("sort must be created or status, optionally with :desc.")
    tasks.sort(key=lambda t: getattr(t, key), reverse=desc == "desc")
    page = tasks[offset: offset + count]
    links: dict = {"currentToken": str(offset)}
    if offset + count < len(tasks):
        links["nextToken"] = str(offset + count)
        links["next"] = str(request.url.update_query(viewtoken=str(offset + count)))
    if offset > 0:
        links["previousToken"] = str(max(0, offset - count))
    return web.json_response({"data": [t.as_json() for t in page], "links": links})


async def get(request: web.Request) -> web.Response:
    return web.json_response(_task(request).as_json())


async def update(request: web.Request) -> web.Response:
    task = _task(request)
    body = await _body(request)
    if not isinstance(body, dict) or set(body) - {"description"} or not isinstance(body.get("description"), str):
        raise bad_request('Only {"description": "..."} can be updated.')
    if task.status == "PROCESSING":
        raise SHError(409, "A task cannot be updated while it is processing.", "COMMON_CONFLICT")
    task.body["description"] = body["description"]
    task.touch()
    return web.json_response(task.body)


async def analyse(request: web.Request) -> web.Response:
    task = _task(request)
    task.analyse()
    request.app[RUNNER].launch(task, "analyse")
    return web.Response(status=204)


async def start(request: web.Request) -> web.Response:
    task = _task(request)
    _check_account_pu(request)
    runner = request.app[RUNNER]
    runner.launch(task, task.start(runner.settings.restart_lock_s))
    return web.Response(status=204)


async def stop(request: web.Request) -> web.Response:
    from ..app import STATS

    _task(request).stop()
    request.app[STATS].batch["stops"] += 1
    return web.Response(status=204)


async def grids(request: web.Request) -> web.Response:
    try:
        count = min(LIST_LIMIT, max(1, int(request.query.get("count", LIST_LIMIT))))
        offset = int(request.query.get("viewtoken", 0))
    except ValueError:
        raise bad_request("count and viewtoken must be integers.") from None
    all_grids = [g.descriptor() for g in GRIDS.values()]
    links: dict = {"currentToken": str(offset)}
    if offset + count < len(all_grids):
        links["nextToken"] = str(offset + count)
    return web.json_response({"data": all_grids[offset: offset + count], "links": links})


async def grid(request: web.Request) -> web.Response:
    gid = request.match_info["grid_id"]
    if not gid.lstrip("-").isdigit():
        raise bad_request(f"Tiling grid id {gid!r} is not an integer.")
    if int(gid) not in GRIDS:
        raise bad_request(f"Tiling grid {gid} does not exist.")
    return web.json_response(GRIDS[int(gid)].descriptor())


def add_routes(router: web.UrlDispatcher) -> None:
    base = "/api/v2/batch/process"
    router.add_post(base, create, name="batch_v2_create")
    router.add_get(base, list_tasks, name="batch_v2_list")
    router.add_get(base + "/{task_id}", get, name="batch_v2_get")
    router.add_put(base + "/{task_id}", update, name="batch_v2_update")
    router.add_post(base + "/{task_id}/analyse", analyse, name="batch_v2_analyse")
    router.add_post(base + "/{task_id}/start", start, name="batch_v2_start")
    router.add_post(base + "/{task_id}/stop", stop, name="batch_v2_stop")
    router.add_get("/api/v2/batch/tilinggrids", grids, name="batch_v2_grids")
    router.add_get("/api/v2/batch/tilinggrids/{grid_id}", grid, name="batch_v2_grid")
