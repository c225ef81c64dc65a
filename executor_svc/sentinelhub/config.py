"""Where the Sentinel Hub client talks to and how hard it tries: deployments and client settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend_common.config import env_float, env_int, env_str, sentinelhub_base_url, sentinelhub_token_url

SH_MAIN_TOKEN_URL = "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"
CDSE_TOKEN_URL = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"


@dataclass(frozen=True)
class Deployment:
    """One Sentinel Hub deployment: API base URL and the token endpoint of its identity realm."""

    name: str
    base_url: str
    token_url: str

    def __post_init__(self):
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def process_url(self) -> str:
        return f"{self.base_url}/api/v1/process"

    @property
    def statistics_url(self) -> str:
        return f"{self.base_url}/api/v1/statistics"

    @property
    def batch_statistics_url(self) -> str:
        return f"{self.base_url}/api/v1/statistics/batch"

    @property
    def catalog_search_url(self) -> str:
        return f"{self.base_url}/api/v1/catalog/1.0.0/search"

    @classmethod
    def emulator(cls, base_url: str = "http://127.0.0.1:8090") -> "Deployment":
        base = base_url.rstrip("/")
        return cls("emulator", base, f"{base}/auth/realms/main/protocol/openid-connect/token")


#: The public deployments (SH-run ones share the main token endpoint; CDSE is its own realm).
DEPLOYMENTS: dict[str, Deployment] = {
    "sh-main": Deployment("sh-main", "https://services.sentinel-hub.com", SH_MAIN_TOKEN_URL),
    "sh-uswest": Deployment("sh-uswest", "https://services-uswest2.sentinel-hub.com", SH_MAIN_TOKEN_URL),
    "sh-creodias": Deployment("sh-creodias", "https://creodias.sentinel-hub.com", SH_MAIN_TOKEN_URL),
    "cdse": Deployment("cdse", "https://sh.dataspace.copernicus.eu", CDSE_TOKEN_URL),
}


@dataclass(frozen=True)
class ClientConfig:
    """Settings of a `SentinelHubClient`.

    `client_id`/`client_secret` are the backend's own account (used when a call passes no user
    token). `max_concurrency` bounds in-flight HTTP requests per Sentinel Hub account;
    `max_retries` is the number of retries after the first attempt (5xx, 429, timeouts,
    connection errors). Requests larger than `split_threshold` px on a side are split into tiles
    of at most `tile_size` px.
    """

    deployment: Deployment = field(default_factory=Deployment.emulator)
    client_id: str | None = None
    client_secret: str | None = None
    max_concurrency: int = 8
    max_retries: int = 5
    request_timeout: float = 300.0
    connect_timeout: float = 10.0
    token_timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    token_refresh_margin: float = 60.0
    split_threshold: int = 2500
    tile_size: int = 2048
    max_tiles_in_flight: int | None = None  # default: max_concurrency
    catalog_page_limit: int = 100

    def __post_init__(self):
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if not 1 <= self.tile_size <= 2500 or not 1 <= self.split_threshold <= 2500:
            raise ValueError("tile_size and split_threshold must be within 1..2500")

    @property
    def tiles_in_flight(self) -> int:
        return self.max_tiles_in_flight or self.max_concurrency

    @property
    def effective_tile_size(self) -> int:
        return min(self.tile_size, self.split_threshold)

    @classmethod
    def from_env(cls, **overrides) -> "ClientConfig":
        """SH_BASE_URL, SH_TOKEN_URL, SH_CLIENT_ID, SH_CLIENT_SECRET, SH_MAX_CONCURRENCY, SH_MAX_RETRIES."""
        base = sentinelhub_base_url()
        deployment = Deployment(_name_for(base), base, sentinelhub_token_url())
        values = dict(
            deployment=deployment,
            client_id=env_str("SH_CLIENT_ID", "") or None,
            client_secret=env_str("SH_CLIENT_SECRET", "") or None,
            max_concurrency=env_int("SH_MAX_CONCURRENCY", 8),
            max_retries=env_int("SH_MAX_RETRIES", 5),
            request_timeout=env_float("SH_REQUEST_TIMEOUT_SECONDS", 300.0),
        )
        values.update(overrides)
        return cls(**values)


def hinted_deployment(hint_url: str, default: Deployment) -> Deployment | None:
    """The deployment the base URL a load's `sh_deployment` names selects, or None for the configured one (pure).

    The hints name public Sentinel Hub deployments (US-West for Landsat). They are followed only
    where they share the configured deployment's identity realm, i.e. its tokens work there:
    from SH main to US-West, not from CDSE (which serves those collections itself) and not from
    an emulator or proxy (one endpoint that serves every collection)."""
    base = (hint_url or "").rstrip("/")
    if not base or base == default.base_url:
        return None
    for deployment in DEPLOYMENTS.values():
        if deployment.base_url == base:
            return deployment if deployment.token_url == default.token_url else None
    return None  # a URL we do not know: stay where we are configured


def _name_for(base_url: str) -> str:
    for name, deployment in DEPLOYMENTS.items():
        if deployment.base_url == base_url.rstrip("/"):
            return name
    return "custom"
