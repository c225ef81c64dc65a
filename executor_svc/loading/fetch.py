"""Fetching one load through the Sentinel Hub client (`executor_svc/sentinelhub/`)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

import xarray as xr

from backend_common.logging import get_logger

from .cube import cube_from_raster
from .request import process_request

log = get_logger(__name__)


@dataclass
class LoadedCube:
    node_id: str
    result_node_id: str
    cube: xr.DataArray
    processing_units: float
    tiles: int


def deployment_for(load, sh_client):
    """The deployment the load names (`sh_deployment`, configured in `ClientConfig.deployments`),
    or None for the client's own."""
    if not load.sh_deployment:
        return None
    return sh_client.config.deployment_named(load.sh_deployment)


async def fetch_load(load, sh_client, *, token: str | None, executor: Executor | None = None, sink=None,
                     to_dask=None, spending=None) -> LoadedCube:
    """`sink` receives the assembled raster (default: an in-memory array); `to_dask` makes the
    cube chunked (`loading.cube.cube_from_raster`); `spending` (`sentinelhub.spending`) holds
    the run's requests within its budget."""
    request = process_request(load)
    raster = await sh_client.process_raster(
        request, token=token or None, deployment=deployment_for(load, sh_client), output_id="default", sink=sink,
        spending=spending,
    )
    loop = asyncio.get_running_loop()
    cube = await loop.run_in_executor(executor, cube_from_raster, raster.data, raster.userdata, load, raster.nodata,
                                      to_dask)
    log.info(
        "load_fetched",
        node_id=load.node_id,
        collection=load.collection_id,
        shape=list(cube.shape),
        chunked=cube.chunks is not None,
        dims=list(cube.dims),
        processing_units=raster.processing_units,
        tiles=raster.tiles,
    )
    return LoadedCube(load.node_id, load.result_node_id or load.node_id, cube, raster.processing_units, raster.tiles)
