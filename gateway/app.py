"""Application factory: middlewares, routes, gRPC clients and auth wiring."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from backend_common.logging import get_logger
from gateway import billing, routing
from gateway.auth import AUTH, Authenticator
from gateway.auth.basic import BasicAuth
from gateway.auth.jwks import JwksCache
from gateway.auth.oidc import OidcAuth, parse_providers
from gateway.auth.plain import PlainJwtVerifier
from gateway.clients import Clients
from gateway.config import DEFAULT_SIGNING_SECRET, Settings
from gateway.keys import CLIENTS, HTTP, PROCESS_IDS, SETTINGS, SIGNER
from gateway.middleware.cors import add_cors_headers, cors_middleware
from gateway.middleware.errors import errors_middleware
from gateway.middleware.limits import header_limits_middleware, server_options
from gateway.middleware.paths import paths_middleware
from gateway.middleware.request_id import echo_request_id, request_id_middleware
from gateway.routes import (
    auth,
    capabilities,
    collections,
    health,
    job_results,
    jobs,
    logs,
    me,
    process_graphs,
    processes,
    services,
    sync_processing,
    tiles,
    validation,
)
from gateway.signing import ResultSigner

log = get_logger(__name__)

ROUTE_MODULES = (
    capabilities, health, collections, processes, auth, me, validation, sync_processing,
    jobs, job_results, logs, process_graphs, services, tiles,
)


async def _resources(app: web.Application):
    settings = app[SETTINGS]
    app[HTTP] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.http_timeout_seconds))
    app[CLIENTS] = Clients()
    if settings.signing_secret == DEFAULT_SIGNING_SECRET:
        log.warning("result_signing_secret_default", hint="set RESULT_SIGNING_SECRET in production")
    log.info("gateway_started", public_url=settings.public_url)
    yield
    await app[CLIENTS].close()
    await app[HTTP].close()


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            paths_middleware, request_id_middleware, cors_middleware, errors_middleware, header_limits_middleware,
        ],
        handler_args=server_options(settings),
    )
    app[SETTINGS] = settings
    app[billing.BILLING] = billing.load_billing_plans(settings.billing_plans_file or None)
    app[SIGNER] = ResultSigner(settings.signing_secret, settings.result_url_ttl_seconds)
    app[PROCESS_IDS] = {}
    app[routing.HIDDEN] = set()

    def session():
        return app[HTTP]

    jwks = JwksCache(
        settings.sh_jwks_url,
        session,
        min_refresh=settings.jwks_min_refresh_seconds,
        max_age=settings.jwks_max_age_seconds,
    )
    basic = BasicAuth(
        token_url=settings.sh_token_url,
        jwks=jwks,
        session_getter=session,
        issuer=settings.sh_token_issuer,
        leeway=settings.jwt_leeway_seconds,
    )
    authenticator = Authenticator()
    authenticator.register("basic", basic)
    providers = parse_providers(settings.oidc_providers_json)
    oidc = OidcAuth(providers, session, leeway=settings.jwt_leeway_seconds) if providers else None
    if oidc is not None:
        authenticator.register("oidc", oidc)
    authenticator.set_plain_token_verifier(PlainJwtVerifier(basic, oidc))
    app[AUTH] = authenticator
    app[auth.BASIC] = basic
    app[auth.OIDC_PROVIDERS] = [p.public_info() for p in providers]

    app.cleanup_ctx.append(_resources)
    app.on_response_prepare.append(echo_request_id)
    app.on_response_prepare.append(add_cors_headers)
    for module in ROUTE_MODULES:
        module.setup(app)
    return app
