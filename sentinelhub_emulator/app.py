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
from .stats import Stats

log = get_logger(__name__)

CONFIG = web.AppKey("config", EmulatorConfig)
TOKENS = web.AppKey("tokens", TokenService)
FAULTS = web.AppKey("faults", FaultInjector)
LIMITER = web.AppKey("limiter", RateLimiter)
STATS = web.AppKey("stats", Stats)
RENDERER = web.AppKey("renderer", Renderer)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
POOL = web.AppKey("pool", V8Pool)
PRINCIPAL = web.RequestKey("principal", object) if hasattr(web, "RequestKey") else "principal"

TOKEN_PATHS = (REALM_PATH + "/protocol/openid-connect/token", "/oauth/token")


def base_url(request: web.Request) -> str:
    cfg = request.app[CONFIG]
    if cfg.public_base_url:
        return cfg.public_base_url.rstrip("/")
    return f"{request.scheme}://{request.host}"


def _kind(path: str) -> str | None:
    if path.startswith("/api/"):
        return "api"
    if path in TOKEN_PATHS:
        return "token"
    return None


def _endpoint(request: web.Request) -> str:
    route = request.match_info.route
    name = getattr(route, "name", None)
    return name or f"{request.method} {request.path}"


@web.middleware
async def main_middleware(request: web.Request, handler):
    app = request.app
    started = time.perf_counter()
    kind = _kind(request.path)
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
            principal = app[TOKENS].verify(request.headers.get("Authorization"))
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
        app[STATS].record(_endpoint(request), status, client)
        log.info("request", method=request.method, path=request.path, status=status, client=client,
                 ms=round((time.perf_counter() - started) * 1000, 1))


# ------------------------------------------------------------------ OAuth


async def token(request: web.Request) -> web.Response:
    form = await request.post()
    grant = form.get("grant_type")
    cid, secret = form.get("client_id"), form.get("client_secret")
    if not cid:
        cid, secret = parse_basic(request.headers.get("Authorization"))
    tokens = request.app[TOKENS]
    if grant != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type",
                                  "error_description": "Only grant_type=client_credentials is supported"}, status=400)
    if not tokens.check_client(cid, secret):
        return web.json_response({"error": "invalid_client", "error_description": "Invalid client credentials"},
                                 status=401)
    request.app[STATS].tokens_issued += 1
    return web.json_response(tokens.issue(str(cid), base_url(request) + REALM_PATH))


async def certs(request: web.Request) -> web.Response:
    return web.json_response(request.app[TOKENS].keys.jwks())


async def discovery(request: web.Request) -> web.Response:
    return web.json_response(discovery_document(base_url(request)))


# ------------------------------------------------------------------ Catalog


async def catalog_search_post(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON.") from None
    result = catalog.search(body, base_url(request))
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
    return web.json_response(catalog.search(body, base_url(request)), content_type="application/geo+json")


async def catalog_collections(request: web.Request) -> web.Response:
    base = base_url(request)
    cols = [{"stac_version": "1.0.0", "type": "Collection", "id": c, "links": [
        {"rel": "self", "href": f"{base}/api/v1/catalog/1.0.0/collections/{c}"}]} for c in catalog.CATALOG_COLLECTIONS]
    return web.json_response({"collections": cols, "links": []})


# ------------------------------------------------------------------ Process


async def _process_body(request: web.Request) -> dict:
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        reader = await request.multipart()
        body: dict | None = None
        script = None
        while True:
            part = await reader.next()
            if part is None:
                break
            if part.name == "request":
                try:
                    body = json.loads(await part.text())
                except json.JSONDecodeError:
                    raise bad_request("The 'request' part is not valid JSON.") from None
            elif part.name == "evalscript":
                script = await part.text()
        if body is None:
            raise bad_request("Multipart request needs a 'request' part.")
        if script is not None:
            body["evalscript"] = script
        return body
    if ctype not in ("application/json", "text/plain", ""):
        raise SHError(415, f"Unsupported content type {ctype}", "COMMON_UNSUPPORTED_MEDIA_TYPE")
    try:
        return json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON.") from None


async def process(request: web.Request) -> web.Response:
    app = request.app
    body = await _process_body(request)
    plan = parse_process_request(body, request.headers.get("Accept"))
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(app[EXECUTOR], app[RENDERER].render, plan)
    principal = request[PRINCIPAL]
    app[LIMITER].spend(principal.client_id, result.pu)
    app[STATS].pu_spent += result.pu
    app[STATS].pu_by_client[principal.client_id] += result.pu
    return web.Response(body=result.body, headers={"Content-Type": result.content_type,
                                                   "x-processingunits-spent": repr(float(result.pu))})


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
    pool = request.app[POOL]
    data["v8"] = {"contexts_created": pool.created, "contexts_discarded": pool.discarded}
    return web.json_response(data)


async def stats_delete(request: web.Request) -> web.Response:
    request.app[STATS].reset()
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    configure_logging()
    config = config or EmulatorConfig.from_env()
    app = web.Application(middlewares=[main_middleware], client_max_size=64 * 1024 * 1024)
    app[CONFIG] = config
    app[TOKENS] = TokenService(KeyStore(config.key_file), config.clients, config.token_ttl, config.account_id)
    app[FAULTS] = FaultInjector()
    app[LIMITER] = RateLimiter(config.rate_limit_requests_per_minute, config.rate_limit_pu_per_minute)
    app[STATS] = Stats()
    pool = V8Pool(config.v8_pool_size, config.script_max_memory)
    app[POOL] = pool
    app[RENDERER] = Renderer(pool, config.script_timeout_s, config.render_chunk_values)
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="sh-emu-render")

    app[BATCH_RUNNER] = BatchRunner(config.batch, app[RENDERER], app[EXECUTOR], app[STATS], app[FAULTS])

    r = app.router
    for path in TOKEN_PATHS:
        r.add_post(path, token, name="token" if path != "/oauth/token" else "token_legacy")
    r.add_get(REALM_PATH + "/protocol/openid-connect/certs", certs, name="certs")
    r.add_get(REALM_PATH + "/.well-known/openid-configuration", discovery, name="discovery")
    r.add_post("/api/v1/catalog/1.0.0/search", catalog_search_post, name="catalog_search")
    r.add_get("/api/v1/catalog/1.0.0/search", catalog_search_get, name="catalog_search_get")
    r.add_get("/api/v1/catalog/1.0.0/collections", catalog_collections, name="catalog_collections")
    r.add_post("/api/v1/process", process, name="process")
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
        await app_[BATCH_RUNNER].close()
        app_[EXECUTOR].shutdown(wait=True, cancel_futures=True)
        app_[POOL].close()

    app.on_cleanup.append(_cleanup)
    return app
