"""Where the Sentinel Hub client talks to and how hard it tries: deployments and client settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from backend_common.config import env_float, env_int, env_str, sentinelhub_base_url, sentinelhub_token_url

SH_MAIN_TOKEN_URL = "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"
CDSE_TOKEN_URL = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"


@dataclass(frozen=True)
class Deployment:
    """One Sentinel Hub deployment: API base URL and the token endpoint of its identity realm;
    `client_id`/`client_secret`: the backend's account in that realm when it is not the main
    one's (CDSE), None to use `ClientConfig`'s."""

    name: str
    base_url: str
    token_url: str
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)

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
    #: every deployment a load may name (`SentinelHubLoad.sh_deployment`) → where it is configured;
    #: a name missing here goes to `deployment` (one endpoint serving every collection)
    deployments: dict[str, Deployment] = field(default_factory=dict)
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

    def deployment_named(self, name: str) -> Deployment:
        """The deployment a load names ("" or unknown: the configured main one)."""
        return self.deployments.get(name) or self.deployment

    def same_realm(self, deployment: Deployment) -> bool:
        """Whether tokens of the main deployment (a basic-login user's) work on `deployment`."""
        return deployment.token_url == self.deployment.token_url

    @property
    def tiles_in_flight(self) -> int:
        return self.max_tiles_in_flight or self.max_concurrency

    @property
    def effective_tile_size(self) -> int:
        return min(self.tile_size, self.split_threshold)

    @classmethod
    def from_env(cls, **overrides) -> "ClientConfig":
        """SH_BASE_URL, SH_TOKEN_URL, SH_CLIENT_ID, SH_CLIENT_SECRET, SH_MAX_CONCURRENCY, SH_MAX_RETRIES,
        and the other deployments (`deployments_from_env`)."""
        base = sentinelhub_base_url()
        deployment = Deployment(_name_for(base), base, sentinelhub_token_url())
        values = dict(
            deployment=deployment,
            deployments=deployments_from_env(deployment),
            client_id=env_str("SH_CLIENT_ID", "") or None,
            client_secret=env_str("SH_CLIENT_SECRET", "") or None,
            max_concurrency=env_int("SH_MAX_CONCURRENCY", 8),
            max_retries=env_int("SH_MAX_RETRIES", 5),
            request_timeout=env_float("SH_REQUEST_TIMEOUT_SECONDS", 300.0),
        )
        values.update(overrides)
        return cls(**values)


def deployments_from_env(main: Deployment, env: dict[str, str] | None = None) -> dict[str, Deployment]:
    """Where each deployment name of the catalogue (`sh-main`, `sh-uswest`, `sh-creodias`, `cdse`) is.

    `SH_USWEST_BASE_URL` and `SH_CREODIAS_BASE_URL` (main realm: same token endpoint and account as
    `SH_BASE_URL`), `SH_CDSE_BASE_URL` with `SH_CDSE_TOKEN_URL`, `SH_CDSE_CLIENT_ID`,
    `SH_CDSE_CLIENT_SECRET` (its own realm). Unset, a deployment is the public one when the main
    deployment is public Sentinel Hub, else the main deployment itself (an emulator or proxy that
    serves every collection)."""
    env = dict(os.environ if env is None else env)
    public = main.base_url == DEPLOYMENTS["sh-main"].base_url
    out = {"sh-main": main}
    for name, var in (("sh-uswest", "SH_USWEST_BASE_URL"), ("sh-creodias", "SH_CREODIAS_BASE_URL")):
        base = env.get(var, "").strip() or (DEPLOYMENTS[name].base_url if public else main.base_url)
        out[name] = Deployment(name, base, main.token_url)
    cdse_base = env.get("SH_CDSE_BASE_URL", "").strip()
    cdse_id = env.get("SH_CDSE_CLIENT_ID", "").strip() or None
    cdse_secret = env.get("SH_CDSE_CLIENT_SECRET", "").strip() or None
    if cdse_base:
        token = env.get("SH_CDSE_TOKEN_URL", "").strip() or (
            CDSE_TOKEN_URL if cdse_base.rstrip("/") == DEPLOYMENTS["cdse"].base_url
            else cdse_base.rstrip("/") + "/auth/realms/CDSE/protocol/openid-connect/token")
        out["cdse"] = Deployment("cdse", cdse_base, token, cdse_id, cdse_secret)
    elif main.token_url == CDSE_TOKEN_URL:  # the backend runs on CDSE itself
        out["cdse"] = main
    elif public:
        out["cdse"] = Deployment("cdse", DEPLOYMENTS["cdse"].base_url, CDSE_TOKEN_URL, cdse_id, cdse_secret)
    else:
        out["cdse"] = main
    return out


def _name_for(base_url: str) -> str:
    for name, deployment in DEPLOYMENTS.items():
        if deployment.base_url == base_url.rstrip("/"):
            return name
    return "custom"
