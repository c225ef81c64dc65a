"""Configuration from environment variables (every variable is listed in the README table)."""

from __future__ import annotations

import os

#: Largest gRPC message a service sends or accepts (plans, documents; data streams in 1 MiB chunks).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


# Default addresses of the services on one machine (overridable per variable).
DEFAULT_LISTEN = {
    "compiler": "127.0.0.1:50051",
    "executor": "127.0.0.1:50052",
    "tiles": "127.0.0.1:50053",
    "store": "127.0.0.1:50054",
}


def service_listen(service: str) -> str:
    """Address a gRPC service binds to: <SERVICE>_LISTEN."""
    return env_str(f"{service.upper()}_LISTEN", DEFAULT_LISTEN[service])


def service_addr(service: str) -> str:
    """Address clients use to reach a service: <SERVICE>_ADDR (a gRPC target, e.g. dns:///...)."""
    return env_str(f"{service.upper()}_ADDR", DEFAULT_LISTEN[service])


def grpc_deadline() -> float:
    """Default deadline in seconds for unary gRPC calls."""
    return env_float("GRPC_DEADLINE_SECONDS", 30.0)


def sentinelhub_base_url() -> str:
    return env_str("SH_BASE_URL", "http://127.0.0.1:8090").rstrip("/")


def sentinelhub_token_url() -> str:
    return env_str("SH_TOKEN_URL", sentinelhub_base_url() + "/auth/realms/main/protocol/openid-connect/token")


def sentinelhub_jwks_url() -> str:
    return env_str("SH_JWKS_URL", sentinelhub_base_url() + "/auth/realms/main/protocol/openid-connect/certs")
