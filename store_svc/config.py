"""Configuration of the store service from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from backend_common.config import env_float, env_int, env_str, service_listen


@dataclass(frozen=True)
class StoreConfig:
    listen: str = "127.0.0.1:50054"
    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    mongodb_db: str = "openeo"
    # How many times a job may be claimed before a lost executor makes it fail.
    job_max_attempts: int = 3
    # How long a call waits for a reachable MongoDB before failing with ServiceUnavailable.
    server_selection_timeout_ms: int = 3000
    # Expired job leases are not taken over until the database has answered this long after an
    # outage or a store start (store_svc/availability.py).
    lease_grace_seconds: float = 30.0
    log_level: str = "info"
    # How often the gRPC health status (readiness) is refreshed from a ping of MongoDB.
    health_interval_seconds: float = 5.0

    @classmethod
    def from_env(cls) -> "StoreConfig":
        return cls(
            listen=service_listen("store"),
            mongodb_uri=env_str("MONGODB_URI", cls.mongodb_uri),
            mongodb_db=env_str("MONGODB_DB", cls.mongodb_db),
            job_max_attempts=max(1, env_int("JOB_MAX_ATTEMPTS", cls.job_max_attempts)),
            server_selection_timeout_ms=env_int("MONGODB_TIMEOUT_MS", cls.server_selection_timeout_ms),
            lease_grace_seconds=max(0.0, env_float("JOB_LEASE_GRACE_SECONDS", cls.lease_grace_seconds)),
            log_level=env_str("LOG_LEVEL", cls.log_level),
            health_interval_seconds=env_float("STORE_HEALTH_INTERVAL_SECONDS", cls.health_interval_seconds),
        )
