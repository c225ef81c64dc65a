"""tiles_svc settings, read from the environment once at start (see the README's table)."""

from __future__ import annotations

from dataclasses import dataclass

from backend_common.config import env_float, env_int, env_str, service_listen


@dataclass(frozen=True)
class TilesConfig:
    listen: str
    log_level: str
    #: rendered tiles kept (LRU entries)
    cache_size: int
    #: Cache-Control max-age of a tile
    max_age_seconds: int
    #: how long a service document is reused before the store is asked again
    service_ttl_seconds: float
    #: how often the processing units of rendered tiles are sent to the store (summed per service)
    spending_flush_seconds: float

    @classmethod
    def from_env(cls) -> "TilesConfig":
        return cls(
            listen=service_listen("tiles"),
            log_level=env_str("LOG_LEVEL", "info"),
            cache_size=env_int("TILE_CACHE_SIZE", 4096),
            max_age_seconds=env_int("TILE_MAX_AGE_SECONDS", 300),
            service_ttl_seconds=env_float("TILES_SERVICE_TTL_SECONDS", 2.0),
            spending_flush_seconds=env_float("TILES_SPENDING_FLUSH_SECONDS", 2.0),
        )
