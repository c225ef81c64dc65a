"""`SentinelHubClient`: the executor's one entry point to Sentinel Hub (Process API and Catalog)."""

from __future__ import annotations

import asyncio
import json
import random
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import aiohttp
import numpy as np
from affine import Affine

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from . import catalog
from .assemble import fetch_tiles
from .auth import Auth, BearerAuth, ClientCredentialsAuth, TokenCache
from .config import ClientConfig, Deployment
from .decode import decode_response
from .grid import PixelGrid, needs_split, split_grid
from .sinks import ArraySink, RasterSink
from .spending import SpendingLimit
from .transport import ShResponse, Transport

log = get_logger(__name__)


@dataclass
class ProcessResult:
    content: bytes
    content_type: str
    processing_units: float
    attempts: int = 1


@dataclass
class RasterResult:
    """A decoded Process API raster. `data` is (bands, rows, cols); `transform` maps pixel
    (col, row) edges to CRS coordinates (north-up); `crs` is "EPSG:<code>"."""

    data: np.ndarray
    transform: Affine
    crs: str
    epsg: int
    userdata: object | None
    processing_units: float
    nodata: float | None = None
    tiles: int = 1


@dataclass
class SearchResult:
    features: list
    processing_units: float
    pages: int


class SentinelHubClient:
    """Async Sentinel Hub client sharing one `aiohttp.ClientSession`.

    Use as `async with SentinelHubClient(config) as sh: ...` (the executor's config comes from
    `ExecutorConfig.sentinelhub`, read once at start). Every call takes
    `token=` (a user's own Sentinel Hub bearer token; None → the backend account's client
    credentials) and `deployment=` (None → the configured one).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        executor: Executor | None = None,
        rng: random.Random | None = None,
    ):
        self.config = config
        self._session = session
        self._own_session = session is None
        self._executor = executor
        self._own_executor = executor is None
        self._rng = rng or random.Random()
        self._transport: Transport | None = None
        self.tokens: TokenCache | None = None

    async def __aenter__(self) -> "SentinelHubClient":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def start(self) -> None:
        if self._transport is not None:
            return
        cfg = self.config
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=max(100, cfg.max_concurrency * 4), ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=min(8, cfg.tiles_in_flight), thread_name_prefix="sh-decode")
        self.tokens = TokenCache(
            self._session,
            margin=cfg.token_refresh_margin,
            timeout=cfg.token_timeout,
            max_retries=cfg.max_retries,
            backoff_base=cfg.backoff_base,
            backoff_max=cfg.backoff_max,
            max_retry_after=cfg.max_retry_after,
            rng=self._rng,
        )
        self._transport = Transport(self._session, cfg, self._rng)

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
        if self._own_executor and self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        self._transport = None

    # ---------------------------------------------------------------- plumbing

    def _auth(self, token: str | None, deployment: Deployment) -> Auth:
        """A user's token where it is valid (the main deployment's realm); elsewhere, and without a
        user token, the backend's account of the deployment's realm."""
        cfg = self.config
        same_realm = cfg.same_realm(deployment)
        if token and same_realm:
            return BearerAuth(token)
        client_id, secret = (cfg.client_id, cfg.client_secret) if same_realm else (
            deployment.client_id, deployment.client_secret)
        if not client_id or not secret:
            if not same_realm:
                raise OpenEOError(
                    "SentinelHubError",
                    f"This collection is served by the Sentinel Hub deployment '{deployment.name}', for which "
                    "the backend has no account configured.",
                    503,
                )
            raise OpenEOError(
                "SentinelHubError",
                "The backend has no Sentinel Hub account configured; log in with your own Sentinel Hub account.",
                503,
            )
        assert self.tokens is not None
        return ClientCredentialsAuth(self.tokens, deployment.token_url, client_id, secret)

    def _ready(self) -> Transport:
        if self._transport is None:
            raise RuntimeError("SentinelHubClient used before start() / outside `async with`")
        return self._transport

    async def call_json(self, method: str, path: str, *, token: str | None = None,
                        deployment: Deployment | None = None, json_body: dict | None = None,
                        what: str = "request") -> dict | None:
        """One call of another Sentinel Hub API (e.g. Batch v2, `path` under the deployment's base
        URL) with the same auth, retries and error mapping; its JSON answer, None when empty."""
        deployment = deployment or self.config.deployment
        response = await self._ready().request(
            method, f"{deployment.base_url}{path}", auth=self._auth(token, deployment), json_body=json_body,
            headers={"Accept": "application/json"}, what=what)
        if not response.body:
            return None
        try:
            return json.loads(response.body)
        except ValueError:
            raise OpenEOError("SentinelHubError", f"Sentinel Hub answered the {what} with invalid JSON.", 502) from None

    # ---------------------------------------------------------------- Process API

    async def process(
        self,
        request_json: dict,
        *,
        token: str | None = None,
        deployment: Deployment | None = None,
        accept: str | None = None,
        timeout: float | None = None,
    ) -> ProcessResult:
        """One Process API call as is: the response bytes, their content type and the PU spent."""
        response = await self._post_process(request_json, token=token, deployment=deployment, accept=accept, timeout=timeout)
        return ProcessResult(response.body, response.content_type, response.processing_units, response.attempts)

    async def _post_process(self, request_json, *, token, deployment, accept=None, timeout=None) -> ShResponse:
        transport = self._ready()
        deployment = deployment or self.config.deployment
        headers = {"Accept": accept or _accept_for(request_json)}
        return await transport.request(
            "POST",
            deployment.process_url,
            auth=self._auth(token, deployment),
            json_body=request_json,
            headers=headers,
            what="process request",
            timeout=timeout,
        )

    async def process_raster(
        self,
        request_json: dict,
        *,
        token: str | None = None,
        deployment: Deployment | None = None,
        output_id: str = "default",
        sink: RasterSink | None = None,
        spending: SpendingLimit | None = None,
    ) -> RasterResult:
        """A Process API request decoded to numpy (via rasterio, in the executor pool).

        Requests larger than `config.split_threshold` px per side are split into pixel-aligned
        tiles (≤ `config.tile_size` px), fetched concurrently (≤ `config.tiles_in_flight` held at
        once) and written into `sink` (default: one preallocated in-memory array). With
        `spending`, every request (each tile) first asks it whether the run's budget allows it.
        """
        grid = PixelGrid.of_request(request_json)
        caller_sink = sink
        sink = sink or ArraySink()
        deployment = deployment or self.config.deployment
        loop = asyncio.get_running_loop()
        if not needs_split(grid, self.config.split_threshold):
            response = await _spending_on(spending, self._post_process(request_json, token=token, deployment=deployment))
            decoded = await loop.run_in_executor(
                self._executor, decode_response, response.body, response.content_type, output_id
            )
            data = decoded.data
            if data.shape[1:] != (grid.height, grid.width):
                log.warning("sh_unexpected_size", expected=[grid.height, grid.width], got=list(data.shape[1:]))
                grid = PixelGrid(grid.minx, grid.miny, grid.maxx, grid.maxy, data.shape[2], data.shape[1], grid.epsg)
            if caller_sink is not None:
                await loop.run_in_executor(self._executor, _write_whole, caller_sink, data)
                data = sink.result()
            return RasterResult(
                data, grid.transform, grid.crs, grid.epsg, decoded.userdata, response.processing_units, decoded.nodata, 1
            )

        tiles = split_grid(grid, self.config.effective_tile_size)
        auth_token = token
        log.info("sh_split_request", width=grid.width, height=grid.height, tiles=len(tiles))

        async def fetch(sub: dict) -> tuple[bytes, str, float]:
            response = await _spending_on(spending, self._post_process(sub, token=auth_token, deployment=deployment))
            return response.body, response.content_type, response.processing_units

        assembled = await fetch_tiles(
            request_json,
            grid,
            tiles,
            fetch=fetch,
            sink=sink,
            output_id=output_id,
            in_flight=self.config.tiles_in_flight,
            executor=self._executor,
        )
        return RasterResult(
            sink.result(),
            grid.transform,
            grid.crs,
            grid.epsg,
            assembled.userdata,
            assembled.processing_units,
            assembled.nodata,
            len(tiles),
        )

    # ---------------------------------------------------------------- Statistical API

    async def statistics(self, request_json: dict, *, token: str | None = None,
                         deployment: Deployment | None = None, timeout: float | None = None) -> tuple[dict, float]:
        """One Statistical API call: (the response document, the PU spent)."""
        transport = self._ready()
        deployment = deployment or self.config.deployment
        response = await transport.request("POST", deployment.statistics_url, auth=self._auth(token, deployment),
                                           json_body=request_json, headers={"Accept": "application/json"},
                                           what="statistics request", timeout=timeout)
        try:
            doc = json.loads(response.body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise OpenEOError("SentinelHubError", "Sentinel Hub's Statistical API answered with an unexpected document.", 502)
        return doc, response.processing_units

    async def batch_statistics(self, method: str, path: str, body: dict | None, *, token: str | None = None,
                               deployment: Deployment | None = None) -> dict:
        """One Batch Statistical API call (`path` after `/api/v1/statistics/batch`): its JSON
        document, {} for an empty answer (the actions' 204)."""
        transport = self._ready()
        deployment = deployment or self.config.deployment
        response = await transport.request(method, deployment.batch_statistics_url + path,
                                           auth=self._auth(token, deployment), json_body=body,
                                           headers={"Accept": "application/json"}, what="batch statistics request")
        if not response.body:
            return {}
        try:
            doc = json.loads(response.body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise OpenEOError("SentinelHubError", "Sentinel Hub's Batch Statistical API answered with an unexpected document.", 502)
        return doc

    # ---------------------------------------------------------------- Catalog API

    def _catalog_post(self, token: str | None, deployment: Deployment | None):
        transport = self._ready()
        deployment = deployment or self.config.deployment
        auth = self._auth(token, deployment)

        async def post(body: dict) -> tuple[dict, float]:
            response = await transport.request(
                "POST",
                deployment.catalog_search_url,
                auth=auth,
                json_body=body,
                headers={"Accept": "application/geo+json, application/json"},
                what="catalog search",
            )
            try:
                doc = json.loads(response.body)
            except ValueError:
                raise OpenEOError("SentinelHubError", "Sentinel Hub's catalog answered with invalid JSON.", 502) from None
            if not isinstance(doc, dict):
                raise OpenEOError("SentinelHubError", "Sentinel Hub's catalog answered with an unexpected document.", 502)
            return doc, response.processing_units

        return post

    async def search(
        self,
        body: dict,
        *,
        token: str | None = None,
        deployment: Deployment | None = None,
        max_items: int | None = None,
    ) -> SearchResult:
        """All STAC features matching a Catalog search body (every page), up to `max_items`."""
        post = self._catalog_post(token, deployment)
        features: list = []
        total_pu = 0.0
        pages = 0
        async for page, pu in catalog.iter_pages(post, body, page_limit=self.config.catalog_page_limit):
            pages += 1
            total_pu += pu
            features.extend(page)
            if max_items is not None and len(features) >= max_items:
                features = features[:max_items]
                break
        log.info("sh_catalog_search", collections=body.get("collections"), features=len(features), pages=pages)
        return SearchResult(features, total_pu, pages)

    async def acquisition_dates(
        self,
        collection: str,
        bbox: list[float] | tuple[float, float, float, float],
        time_range,
        *,
        token: str | None = None,
        deployment: Deployment | None = None,
        bbox_crs: int = 4326,
        filter: str | dict | None = None,
    ) -> list[str]:
        """Sorted unique acquisition days ("YYYY-MM-DD", UTC) of `collection` over `bbox` in
        `time_range` ((start, end) of datetimes/dates/strings, None = open, or a STAC interval)."""
        wgs84 = list(bbox)
        if bbox_crs != 4326:  # pyproj work off the event loop
            wgs84 = await asyncio.get_running_loop().run_in_executor(self._executor, _to_wgs84, wgs84, bbox_crs)
        body: dict = {
            "collections": [collection],
            "bbox": wgs84,
            "datetime": catalog.format_interval(time_range),
        }
        if filter is not None:
            body["filter"] = filter
            if isinstance(filter, dict):
                body["filter-lang"] = "cql2-json"
        post = self._catalog_post(token, deployment)
        days, pu = await catalog.acquisition_dates(post, body, page_limit=self.config.catalog_page_limit)
        log.info("sh_acquisition_dates", collection=collection, dates=len(days), processing_units=pu)
        return days


def _accept_for(request_json: dict) -> str:
    responses = ((request_json.get("output") or {}).get("responses")) or []
    if len(responses) > 1:
        return "application/x-tar"
    if responses:
        return ((responses[0].get("format") or {}).get("type")) or "image/png"
    return "image/png"


def _write_whole(sink: RasterSink, data: np.ndarray) -> None:
    sink.allocate(data.shape[0], data.shape[1], data.shape[2], data.dtype)
    sink.write(0, 0, data)


def _to_wgs84(bbox: list[float], epsg: int) -> list[float]:
    if epsg == 4326:
        return bbox
    from pyproj import Transformer

    transformer = Transformer.from_crs(epsg, 4326, always_xy=True)
    return list(transformer.transform_bounds(*bbox, densify_pts=21))


async def _spending_on(spending: SpendingLimit | None, request) -> ShResponse:
    """`request` (a coroutine of one Process API call) sent when `spending` lets it through."""
    if spending is None:
        return await request
    try:
        await spending.before_request()
    except BaseException:
        request.close()  # never awaited: closed so that it is not reported as such
        raise
    try:
        response = await request
    except BaseException:
        spending.abandoned()
        raise
    spending.spent_on(response.processing_units)
    return response
