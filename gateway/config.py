"""Gateway settings, read once from environment variables (see the README table)."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend_common.config import (
    env_bool,
    env_float,
    env_int,
    env_str,
    sentinelhub_jwks_url,
    sentinelhub_token_url,
)

DEFAULT_SIGNING_SECRET = "dev-only-result-signing-secret"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = 10 * 1024 * 1024
    log_level: str = "info"
    backend_id: str = "openeo-sentinelhub"
    title: str = "openEO backend for Sentinel Hub"
    description: str = (
        "openEO API 1.2 backend that processes Earth-observation data with Sentinel Hub. "
        "Log in with your Sentinel Hub OAuth client id and secret (HTTP Basic)."
    )
    backend_version: str = "0.1.0"
    production: bool = False
    sh_token_url: str = "http://127.0.0.1:8090/auth/realms/main/protocol/openid-connect/token"
    sh_jwks_url: str = "http://127.0.0.1:8090/auth/realms/main/protocol/openid-connect/certs"
    # Expected `iss` of Sentinel Hub tokens ("" = not checked).
    sh_token_issuer: str = ""
    # OpenID Connect providers as JSON (see gateway/auth/oidc.py: parse_providers).
    oidc_providers_json: str = ""
    jwks_min_refresh_seconds: float = 30.0
    jwks_max_age_seconds: float = 3600.0
    jwt_leeway_seconds: float = 10.0
    http_timeout_seconds: float = 15.0
    signing_secret: str = DEFAULT_SIGNING_SECRET
    result_url_ttl_seconds: int = 7 * 24 * 3600
    shutdown_timeout_seconds: float = 30.0
    readiness_timeout_seconds: float = 2.0
    # hot tiles answered by the gateway itself for this long (0 = no cache), within this many bytes
    tile_cache_seconds: float = 1.0
    tile_cache_bytes: int = 64 * 1024 * 1024
    # Slow or idle clients: a connection is closed when no complete request head arrived this long
    # after it opened or after the previous response (aiohttp's keep-alive timer); a request body
    # must arrive within body_timeout_seconds (else 408).
    idle_timeout_seconds: float = 30.0
    body_timeout_seconds: float = 60.0
    # Longest header line the gateway answers (else 431, openEO error JSON); aiohttp's own parser
    # limit is far above it (MAX_HEADER_PARSER_BYTES), so normal oversized headers get our answer.
    max_header_bytes: int = 8 * 1024
    # Operator's billing plans and their limits (JSON, see gateway/billing.py); "" = the default file.
    billing_plans_file: str = ""
    # An in-flight synchronous request's quota slot frees itself after this long even when the
    # gateway holding it died before releasing it.
    sync_slot_seconds: int = 900
    # Synchronous requests the backend serves at once, shared equally among the users with
    # requests in flight (0 = only each plan's own in-flight limit).
    sync_capacity: int = 8
    # Services /readyz checks (gRPC health).
    ready_services: tuple[str, ...] = field(default=("compiler", "executor", "tiles", "store"))

    @classmethod
    def from_env(cls) -> "Settings":
        port = env_int("GATEWAY_PORT", 8080)
        host = env_str("GATEWAY_HOST", "127.0.0.1")
        return cls(
            host=host,
            port=port,
            public_url=env_str("GATEWAY_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            max_body_bytes=env_int("GATEWAY_MAX_BODY_BYTES", 10 * 1024 * 1024),
            log_level=env_str("GATEWAY_LOG_LEVEL", "info"),
            backend_id=env_str("GATEWAY_BACKEND_ID", cls.backend_id),
            title=env_str("GATEWAY_TITLE", cls.title),
            description=env_str("GATEWAY_DESCRIPTION", cls.description),
            backend_version=env_str("GATEWAY_BACKEND_VERSION", cls.backend_version),
            production=env_bool("GATEWAY_PRODUCTION", False),
            sh_token_url=sentinelhub_token_url(),
            sh_jwks_url=sentinelhub_jwks_url(),
            sh_token_issuer=env_str("SH_TOKEN_ISSUER", ""),
            oidc_providers_json=env_str("OIDC_PROVIDERS", ""),
            jwks_min_refresh_seconds=env_float("GATEWAY_JWKS_MIN_REFRESH_SECONDS", 30.0),
            jwks_max_age_seconds=env_float("GATEWAY_JWKS_MAX_AGE_SECONDS", 3600.0),
            jwt_leeway_seconds=env_float("GATEWAY_JWT_LEEWAY_SECONDS", 10.0),
            http_timeout_seconds=env_float("GATEWAY_HTTP_TIMEOUT_SECONDS", 15.0),
            signing_secret=env_str("RESULT_SIGNING_SECRET", DEFAULT_SIGNING_SECRET),
            result_url_ttl_seconds=env_int("RESULT_URL_TTL_SECONDS", 7 * 24 * 3600),
            shutdown_timeout_seconds=env_float("GATEWAY_SHUTDOWN_TIMEOUT_SECONDS", 30.0),
            readiness_timeout_seconds=env_float("GATEWAY_READY_TIMEOUT_SECONDS", 2.0),
            idle_timeout_seconds=env_float("GATEWAY_IDLE_TIMEOUT_SECONDS", 30.0),
            body_timeout_seconds=env_float("GATEWAY_BODY_TIMEOUT_SECONDS", 60.0),
            max_header_bytes=env_int("GATEWAY_MAX_HEADER_BYTES", 8 * 1024),
            tile_cache_seconds=env_float("GATEWAY_TILE_CACHE_SECONDS", 1.0),
            tile_cache_bytes=int(env_float("GATEWAY_TILE_CACHE_MB", 64) * 1024 * 1024),
            billing_plans_file=env_str("GATEWAY_BILLING_PLANS_FILE", ""),
            sync_slot_seconds=env_int("GATEWAY_SYNC_SLOT_SECONDS", 900),
            sync_capacity=env_int("GATEWAY_SYNC_CAPACITY", 8),
        )
