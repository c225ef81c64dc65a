"""aiohttp application: routes, middlewares (errors, faults, auth, rate limits, stats)."""
from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from . import catalog
from .batch_v2.routes import RUNNER as BATCH_RUNNER
from .batch_v2.routes import add_routes as add_batch_v2_routes
from .batch_v2.runner import BatchRunner
from .auth import REALM_PATH, KeyStore, TokenService, claimed_client, discovery_document, parse_basic
from .config import EmulatorConfig
from .errors import SHError, bad_request
from .evalscript import V8Pool
from .faults import Fault, FaultInjector
from .logs import configure_logging, get_logger
from .process_request import parse_process_request
from .ratelimit import RateLimiter
from .render import Renderer
from .request_body import read_body
from .batch_statistics import BatchStatistics, FeatureFault
from .stats import Stats
from .statistics import compute as compute_statistics, parse_statistical_request
from . import byoc, byoc_api, deployments  # noqa: E402,I001 - the deployments (kept apart from the imports above)
from .auth import CDSE_REALM_PATH  # noqa: I001

log = get_logger(__name__)

CONFIG = web.AppKey("config", EmulatorConfig)
TOKENS = web.AppKey("tokens", TokenService)
CDSE_TOKENS = web.AppKey("cdse_tokens", TokenService)
FAULTS = web.AppKey("faults", FaultInjector)
LIMITER = web.AppKey("limiter", RateLimiter)
STATS = web.AppKey("stats", Stats)
RENDERER = web.AppKey("renderer", Renderer)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
POOL = web.AppKey("pool", V8Pool)
BATCH_STATISTICS = web.AppKey("batch_statistics", BatchStatistics)
PRINCIPAL = web.RequestKey("principal", object) if hasattr(web, "RequestKey") else "principal"

TOKEN_PATHS = (REALM_PATH + "/protocol/openid-connect/token", "/oauth/token",
               CDSE_REALM_PATH + "/protocol/openid-connect/token")


def root_url(request: web.Request) -> str:
    cfg = request.app[CONFIG]
    if cfg.public_base_url:
        return cfg.public_base_url.rstrip("/")
    return f"{request.scheme}://{request.host}"


def base_url(request: web.Request) -> str:
    """The base URL of the deployment the request went to."""
    return root_url(request) + deployments.PREFIXES[deployments.split(request.path)[0]]


def _kind(path: str) -> str | None:
    if path in TOKEN_PATHS:
        return "token"
    if deployments.split(path)[1].startswith("/api/"):
        return "api"
    return None


def _endpoint(request: web.Request) -> str:
    """The route's name without its deployment (`uswest2.process` counts as `process`)."""
    route = request.match_info.route
    name = getattr(route, "name", None)
    return name.rsplit(".", 1)[-1] if name else f"{request.method} {request.path}"


def _tokens(app: web.Application, deployment: str) -> TokenService:
    return app[CDSE_TOKENS] if deployments.REALMS[deployment] == "CDSE" else app[TOKENS]


@web.middleware
async def main_middleware(request: web.Request, handler):
    app = request.app
    started = time.perf_counter()
    kind = _kind(request.path)
    deployment = deployments.split(request.path)[0]
    status = 500
    client = claimed_client(request.headers.get("Authorization")) if kind == "api" else None
    if kind == "api":
        app[STATS].api_in_flight += 1
    try:
        if kind is not None:
            fault = app[FAULTS].take(kind)
            if fault is not None:
                if fault.delay_ms:
                    await asyncio.sleep(fault.delay_ms / 1000)
                if fault.status is not None:
                    headers = {}
                    if fault.status == 429:
                        headers["Retry-After"] = str(fault.retry_after_ms if fault.retry_after_ms is not None else 1000)
                        raise SHError(429, fault.message or "You have exceeded your rate limit",
                                      "RATE_LIMIT_EXCEEDED", headers=headers)
                    raise SHError(fault.status, fault.message or f"Injected fault ({fault.status})",
                                  "COMMON_EXCEPTION", headers=headers)
        if kind == "api":
            principal = _tokens(app, deployment).verify(request.headers.get("Authorization"))
            request[PRINCIPAL] = principal
            client = principal.client_id
            quota = app[CONFIG].pu_quota
            if quota is not None and app[STATS].pu_by_client[principal.client_id] >= quota:
                raise SHError(403, "Processing units quota exhausted for this account.",
                              "COMMON_INSUFFICIENT_PERMISSIONS")
            limiter = app[LIMITER]
            if limiter.enabled:
                wait_ms = limiter.check(principal.client_id)
                if wait_ms is not None:
                    raise SHError(429, "You have exceeded your rate limit", "RATE_LIMIT_EXCEEDED",
                                  headers={"Retry-After": str(wait_ms)})
        resp = await handler(request)
        status = resp.status
        return resp
    except SHError as exc:
        status = exc.status
        return exc.response()
    except web.HTTPException as exc:
        status = exc.status
        if kind == "api" and exc.status >= 400:
            return SHError(exc.status, exc.reason or "Error").response()
        raise
    except Exception:  # noqa: BLE001 - report as an SH internal error
        log.exception("unhandled_error", path=request.path)
        status = 500
        return SHError(500, "Internal emulator error", "COMMON_EXCEPTION").response()
    finally:
        if kind == "api":
            app[STATS].api_in_flight -= 1
        app[STATS].record(_endpoint(request), status, client, deployment)
        log.info("request", method=request.method, path=request.path, status=status, client=client,
                 ms=round((time.perf_counter() - started) * 1000, 1))


# ------------------------------------------------------------------ OAuth


async def token(request: web.Request) -> web.Response:
    form = await request.post()
    grant = form.get("grant_type")
    cid, secret = form.get("client_id"), form.get("client_secret")
    if not cid:
        cid, secret = parse_basic(request.headers.get("Authorization"))
    cdse = request.path.startswith(CDSE_REALM_PATH)
    tokens = request.app[CDSE_TOKENS if cdse else TOKENS]
    if grant != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type",
                                  "error_description": "Only grant_type=client_credentials is supported"}, status=400)
    if not tokens.check_client(cid, secret):
        return web.json_response({"error": "invalid_client", "error_description": "Invalid client credentials"},
                                 status=401)
    request.app[STATS].tokens_issued += 1
    return web.json_response(tokens.issue(str(cid), root_url(request) + (CDSE_REALM_PATH if cdse else REALM_PATH)))


async def certs(request: web.Request) -> web.Response:
    cdse = request.path.startswith(CDSE_REALM_PATH)
    return web.json_response(request.app[CDSE_TOKENS if cdse else TOKENS].keys.jwks())


async def discovery(request: web.Request) -> web.Response:
    cdse = request.path.startswith(CDSE_REALM_PATH)
    return web.json_response(discovery_document(root_url(request), CDSE_REALM_PATH if cdse else REALM_PATH))


# ------------------------------------------------------------------ Catalog


def _hosted(request: web.Request) -> set[str]:
    """Catalog collections of the request's deployment."""
    return set(deployments.HOSTED[deployments.split(request.path)[0]])


def _byoc_visible(request: web.Request):
    """Whether the caller may search a BYOC collection on this deployment (it owns it, and the
    collection lives here)."""
    here = deployments.split(request.path)[0] == byoc.LOCATION_DEPLOYMENT
    account = request[PRINCIPAL].account
    return lambda cid: here and byoc_api.owns(request.app[TOKENS].account_of, account, cid)


async def catalog_search_post(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON.") from None
    result = catalog.search(body, base_url(request), _hosted(request), _byoc_visible(request))
    return web.json_response(result, content_type="application/geo+json")


async def catalog_search_get(request: web.Request) -> web.Response:
    q = request.query
    body: dict = {}
    if "collections" in q:
        body["collections"] = [c for c in q["collections"].split(",") if c]
    if "datetime" in q:
        body["datetime"] = q["datetime"]
    try:
        if "bbox" in q:
            body["bbox"] = [float(v) for v in q["bbox"].split(",")]
        if "limit" in q:
            body["limit"] = int(q["limit"])
        if "next" in q:
            body["next"] = int(q["next"])
        if "intersects" in q:
            body["intersects"] = json.loads(q["intersects"])
    except ValueError:
        raise bad_request("Invalid query parameter.") from None
    for key in ("filter", "filter-lang", "distinct"):
        if key in q:
            body[key] = q[key]
    return web.json_response(catalog.search(body, base_url(request), _hosted(request), _byoc_visible(request)),
                             content_type="application/geo+json")


async def catalog_collections(request: web.Request) -> web.Response:
    base = base_url(request)
    cols = [{"stac_version": "1.0.0", "type": "Collection", "id": c, "links": [
        {"rel": "self", "href": f"{base}/api/v1/catalog/1.0.0/collections/{c}"}]} for c in catalog.CATALOG_COLLECTIONS
        if c in _hosted(request)]
    return web.json_response({"collections": cols, "links": []})


# ------------------------------------------------------------------ Process


async def _process_body(request: web.Request) -> dict:
    body, script = await read_body(request, json_types=("application/json", "text/plain", ""))
    if script is not None:
        body["evalscript"] = script
    return body


def _checked_data(request: web.Request, data: list) -> str:
    """The request's deployment, after refusing data it cannot serve (another account's BYOC
    collection, a collection the deployment does not host)."""
    deployment = deployments.split(request.path)[0]
    principal = request[PRINCIPAL]
    for item in data:
        if item.collection.startswith("byoc-") and not byoc_api.owns(
                request.app[TOKENS].account_of, principal.account, item.collection):
            raise bad_request(f"Collection {item.collection} not found.")
    deployments.check_data(deployment, data, lambda cid: byoc.LOCATION_DEPLOYMENT if cid.startswith("byoc-") else None)
    return deployment


async def process(request: web.Request) -> web.Response:
    app = request.app
    body = await _process_body(request)
    plan = parse_process_request(body, request.headers.get("Accept"))
    deployment = _checked_data(request, plan.data)
    principal = request[PRINCIPAL]
    for item in plan.data:
        app[STATS].collections_by_deployment[deployment][item.collection] += 1
        app[STATS].last_options[item.collection] = dict(item.options)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(app[EXECUTOR], app[RENDERER].render, plan)
    app[LIMITER].spend(principal.client_id, result.pu)
    app[STATS].pu_spent += result.pu
    app[STATS].pu_by_client[principal.client_id] += result.pu
    return web.Response(body=result.body, headers={"Content-Type": result.content_type,
                                                   "x-processingunits-spent": repr(float(result.pu))})


async def statistics(request: web.Request) -> web.Response:
    app = request.app
    body = await _process_body(request)
    if isinstance(body, dict) and "evalscript" in body and isinstance(body.get("aggregation"), dict):
        body["aggregation"].setdefault("evalscript", body.pop("evalscript"))  # the multipart part
    splan = parse_statistical_request(body)
    _checked_data(request, splan.base.data)
    loop = asyncio.get_running_loop()
    doc, pu = await loop.run_in_executor(app[EXECUTOR], compute_statistics, app[RENDERER], splan)
    _spend(app, request[PRINCIPAL].client_id, pu)
    return web.json_response(doc, headers={"x-processingunits-spent": repr(float(pu))})


def _spend(app: web.Application, client: str, pu: float) -> None:
    app[LIMITER].spend(client, pu)
    app[STATS].pu_spent += pu
    app[STATS].pu_by_client[client] += pu


async def batch_statistics_create(request: web.Request) -> web.Response:
    body = await _process_body(request)
    if isinstance(body, dict) and "evalscript" in body and isinstance(body.get("aggregation"), dict):
        body["aggregation"].setdefault("evalscript", body.pop("evalscript"))
    task = request.app[BATCH_STATISTICS].create(body, request[PRINCIPAL].client_id)
    return web.json_response(task.full_dto(request.app[CONFIG].account_id), status=201)


async def batch_statistics_list(request: web.Request) -> web.Response:
    tasks = request.app[BATCH_STATISTICS].list(request[PRINCIPAL].client_id)
    return web.json_response({"data": [t.full_dto(request.app[CONFIG].account_id) for t in tasks], "links": {}})


def _task(request: web.Request):
    return request.app[BATCH_STATISTICS].get(request.match_info["task_id"], request[PRINCIPAL].client_id)


async def batch_statistics_get(request: web.Request) -> web.Response:
    return web.json_response(_task(request).full_dto(request.app[CONFIG].account_id))


async def batch_statistics_status(request: web.Request) -> web.Response:
    return web.json_response(_task(request).status_dto())


async def batch_statistics_action(request: web.Request) -> web.Response:
    service, task = request.app[BATCH_STATISTICS], _task(request)
    action = request.match_info["action"]
    if action == "analyse":
        service.analyse(task)
    elif action == "start":
        service.start(task)
    elif action in ("stop", "cancel"):  # `cancel`: the legacy name of old clients
        service.stop(task)
    else:
        raise SHError(404, f"Unknown action {action}.", "COMMON_NOT_FOUND")
    return web.Response(status=204)


async def batch_statistics_faults(request: web.Request) -> web.Response:
    try:
        fault = FeatureFault.from_json(await request.json())
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    request.app[BATCH_STATISTICS].faults.append(fault)
    return web.json_response({"faults": len(request.app[BATCH_STATISTICS].faults)}, status=201)


# ------------------------------------------------------------------ emulator control


async def faults_post(request: web.Request) -> web.Response:
    try:
        data = await request.json()
        fault = Fault.from_json(data)
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    request.app[FAULTS].add(fault)
    return web.json_response({"faults": request.app[FAULTS].describe()}, status=201)


async def faults_delete(request: web.Request) -> web.Response:
    request.app[FAULTS].clear()
    return web.Response(status=204)


async def faults_get(request: web.Request) -> web.Response:
    return web.json_response({"faults": request.app[FAULTS].describe()})


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[TOKENS].expire_all()
    return web.Response(status=204)


async def revoke_tokens(request: web.Request) -> web.Response:
    try:
        client_id = (await request.json())["client_id"]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": 'expected {"client_id": "..."}'}, status=400)
    request.app[TOKENS].revoke(str(client_id))
    return web.Response(status=204)


async def stats_get(request: web.Request) -> web.Response:
    data = request.app[STATS].as_dict()
    data.update(request.app[STATS].deployments_dict())
    pool = request.app[POOL]
    data["v8"] = {"contexts_created": pool.created, "contexts_discarded": pool.discarded}
    data["batch_statistics"] = {"features_processed": request.app[BATCH_STATISTICS].features_processed}
    return web.json_response(data)


async def stats_delete(request: web.Request) -> web.Response:
    request.app[STATS].reset()
    request.app[BATCH_STATISTICS].features_processed = 0
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _deployment_routes(r: web.UrlDispatcher) -> None:
    """CDSE's realm, the BYOC API on SH main, and the APIs of the deployments under base paths (SH
    main's own at `/` are registered in `create_app`)."""
    r.add_post(CDSE_REALM_PATH + "/protocol/openid-connect/token", token, name="cdse.token")
    r.add_get(CDSE_REALM_PATH + "/protocol/openid-connect/certs", certs, name="cdse.certs")
    r.add_get(CDSE_REALM_PATH + "/.well-known/openid-configuration", discovery, name="cdse.discovery")
    for deployment, prefix in deployments.PREFIXES.items():
        name_prefix = "" if deployment == deployments.MAIN else deployment + "."
        byoc_api.add_routes(r, prefix, name_prefix, lambda request: request[PRINCIPAL],
                            lambda app, client: app[TOKENS].account_of(client))
        if not prefix:
            continue
        r.add_post(prefix + "/api/v1/catalog/1.0.0/search", catalog_search_post, name=name_prefix + "catalog_search")
        r.add_get(prefix + "/api/v1/catalog/1.0.0/search", catalog_search_get, name=name_prefix + "catalog_search_get")
        r.add_get(prefix + "/api/v1/catalog/1.0.0/collections", catalog_collections,
                  name=name_prefix + "catalog_collections")
        r.add_post(prefix + "/api/v1/process", process, name=name_prefix + "process")
        _statistics_routes(r, prefix, name_prefix)


def _statistics_routes(r: web.UrlDispatcher, prefix: str = "", name_prefix: str = "") -> None:
    """The Statistical and Batch Statistical APIs of one deployment."""
    r.add_post(prefix + "/api/v1/statistics", statistics, name=name_prefix + "statistics")
    batch = prefix + "/api/v1/statistics/batch"
    r.add_post(batch, batch_statistics_create, name=name_prefix + "batch_statistics_create")
    r.add_get(batch, batch_statistics_list, name=name_prefix + "batch_statistics_list")
    r.add_get(batch + "/{task_id}", batch_statistics_get, name=name_prefix + "batch_statistics_get")
    r.add_get(batch + "/{task_id}/status", batch_statistics_status, name=name_prefix + "batch_statistics_status")
    r.add_post(batch + "/{task_id}/{action}", batch_statistics_action, name=name_prefix + "batch_statistics_action")


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    configure_logging()
    config = config or EmulatorConfig.from_env()
    app = web.Application(middlewares=[main_middleware], client_max_size=64 * 1024 * 1024)
    app[CONFIG] = config
    app[TOKENS] = TokenService(KeyStore(config.key_file), config.clients, config.token_ttl, config.account_id)
    # CDSE signs with its own key: tokens of one realm are refused by the other
    app[CDSE_TOKENS] = TokenService(KeyStore(), config.cdse_clients, config.token_ttl, config.account_id)
    app[FAULTS] = FaultInjector()
    app[LIMITER] = RateLimiter(config.rate_limit_requests_per_minute, config.rate_limit_pu_per_minute)
    app[STATS] = Stats()
    pool = V8Pool(config.v8_pool_size, config.script_max_memory)
    app[POOL] = pool
    app[RENDERER] = Renderer(pool, config.script_timeout_s, config.render_chunk_values)
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="sh-emu-render")
    app[BATCH_STATISTICS] = BatchStatistics(
        renderer=app[RENDERER], executor=app[EXECUTOR], s3_endpoint=config.s3_endpoint_url,
        spend=lambda client, pu: _spend(app, client, pu),
        available_pu=lambda client: None if config.pu_quota is None else config.pu_quota - app[STATS].pu_by_client[client])

    app[BATCH_RUNNER] = BatchRunner(config.batch, app[RENDERER], app[EXECUTOR], app[STATS], app[FAULTS])

    r = app.router
    for path in TOKEN_PATHS[:2]:
        r.add_post(path, token, name="token" if path != "/oauth/token" else "token_legacy")
    r.add_get(REALM_PATH + "/protocol/openid-connect/certs", certs, name="certs")
    r.add_get(REALM_PATH + "/.well-known/openid-configuration", discovery, name="discovery")
    _deployment_routes(r)
    r.add_post("/api/v1/catalog/1.0.0/search", catalog_search_post, name="catalog_search")
    r.add_get("/api/v1/catalog/1.0.0/search", catalog_search_get, name="catalog_search_get")
    r.add_get("/api/v1/catalog/1.0.0/collections", catalog_collections, name="catalog_collections")
    r.add_post("/api/v1/process", process, name="process")
    _statistics_routes(r)
    r.add_post("/_emulator/statistics-batch/faults", batch_statistics_faults, name="batch_statistics_faults")
    add_batch_v2_routes(r)
    r.add_post("/_emulator/faults", faults_post, name="faults_post")
    r.add_delete("/_emulator/faults", faults_delete, name="faults_delete")
    r.add_get("/_emulator/faults", faults_get, name="faults_get")
    r.add_post("/_emulator/expire-tokens", expire_tokens, name="expire_tokens")
    r.add_post("/_emulator/revoke-tokens", revoke_tokens, name="revoke_tokens")
    r.add_get("/_emulator/stats", stats_get, name="stats")
    r.add_delete("/_emulator/stats", stats_delete, name="stats_reset")
    r.add_get("/_emulator/health", health, name="health")

    async def _cleanup(app_: web.Application) -> None:
        for task in app_[BATCH_STATISTICS].tasks.values():
            if task.runner is not None:
                task.runner.cancel()
        await app_[BATCH_RUNNER].close()
        app_[EXECUTOR].shutdown(wait=True, cancel_futures=True)
        app_[POOL].close()

    app.on_cleanup.append(_cleanup)
    return app
