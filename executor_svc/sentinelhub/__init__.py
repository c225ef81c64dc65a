"""The executor's Sentinel Hub client: auth, retries, Process API (with request splitting) and Catalog.

    from executor_svc.sentinelhub import SentinelHubClient, ClientConfig
    async with SentinelHubClient(ClientConfig.from_env()) as sh:
        raster = await sh.process_raster(request_json, token=user.sh_access_token or None)
"""

from .client import ProcessResult, RasterResult, SearchResult, SentinelHubClient
from .config import DEPLOYMENTS, ClientConfig, Deployment
from .grid import PixelGrid, Tile, split_grid
from .sinks import ArraySink, MemmapSink, RasterSink

__all__ = [
    "DEPLOYMENTS",
    "ArraySink",
    "ClientConfig",
    "Deployment",
    "MemmapSink",
    "PixelGrid",
    "ProcessResult",
    "RasterResult",
    "RasterSink",
    "SearchResult",
    "SentinelHubClient",
    "Tile",
    "split_grid",
]
