"""The TilesService gRPC servicer: look up the service, answer from the cache or render once."""

from __future__ import annotations

import hashlib
import time

import grpc

from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.logging import get_logger
from backend_proto.v1 import (
    common_pb2,
    compiler_pb2,
    compiler_pb2_grpc,
    executor_pb2,
    executor_pb2_grpc,
    store_pb2,
    store_pb2_grpc,
    tiles_pb2,
    tiles_pb2_grpc,
)
from tiles_svc.cache import RenderedTile, TileCache
from tiles_svc.empty_tile import empty_tile
from tiles_svc.owner_month import OwnerMonths
from tiles_svc.plan_templates import PlanTemplates
from tiles_svc.spending import SpendingTally
from tiles_svc.tile_settings import TileSettings, settings_for
from tiles_svc.tile_math import check_tile, intersects, lonlat_bounds, mercator_bounds

log = get_logger(__name__)
CHUNK = 1024 * 1024


class ServiceLookup:
    """Service documents by id, kept for a few seconds so hot tiles don't hit the store each time.

    An edit (new version) is seen at the latest `ttl` seconds later; the version is part of every
    cache key, so old tiles are never served for a new version after that.
    """

    def __init__(self, store: store_pb2_grpc.StoreServiceStub, ttl: float):
        self.store = store
        self.ttl = ttl
        self._entries: dict[str, tuple[float, store_pb2.Service]] = {}
        # parsed TileSettings per service content: parsing the configuration and the whole
        # process graph is the largest per-request cost of a cached tile
        self._settings: dict[tuple, TileSettings] = {}

    async def get(self, service_id: str) -> store_pb2.Service:
        now = time.monotonic()
        hit = self._entries.get(service_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        try:
            service = await self.store.GetServiceForTiles(store_pb2.ServiceRef(service_id=service_id))
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[service_id] = (now, service)
        return service

    def settings(self, service: store_pb2.Service) -> TileSettings:
        """The service's tile settings, parsed once per distinct (configuration, process) of a service."""
        key = (service.id, service.version, service.configuration_json, service.process_json)
        settings = self._settings.get(key)
        if settings is None:
            settings = settings_for(service.configuration_json, service.process_json)
            if len(self._settings) > 10_000:
                self._settings.clear()
            self._settings[key] = settings
        return settings


def etag_for(service: store_pb2.Service, settings: TileSettings, z: int, x: int, y: int) -> str:
    key = f"{service.id}:{service.version}:{settings.tile_size}:{settings.format}:{z}:{x}:{y}"
    return '"' + hashlib.sha1(key.encode()).hexdigest() + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


class TilesServicer(tiles_pb2_grpc.TilesServiceServicer):
    def __init__(self, channels: dict[str, grpc.aio.Channel], cache: TileCache, *, max_age: int, service_ttl: float,
                 spending_interval: float = 2.0):
        store = store_pb2_grpc.StoreServiceStub(channels["store"])
        self.services = ServiceLookup(store, service_ttl)
        self.owner_months = OwnerMonths(store)
        self.spending = SpendingTally(store, spending_interval, on_confirmed=self.owner_months.forget)
        self.compiler = compiler_pb2_grpc.CompilerServiceStub(channels["compiler"])
        self.executor = executor_pb2_grpc.ExecutorServiceStub(channels["executor"])
        self.cache = cache
        self.max_age = max_age
        self.templates = PlanTemplates()

    async def RenderTile(self, request, context):
        tile = check_tile(request.z, request.x, request.y)
        service = await self.services.get(request.service_id)
        if not service.enabled:
            raise OpenEOError("ServiceNotFound", f"Service '{request.service_id}' does not exist.", 404)
        settings = self.services.settings(service)
        etag = etag_for(service, settings, tile.z, tile.x, tile.y)
        if etag_matches(request.if_none_match, etag):
            yield tiles_pb2.TileChunk(not_modified=True, etag=etag, max_age=self.max_age)
            return

        outside_zoom = not settings.min_zoom <= tile.z <= settings.max_zoom
        outside_extent = settings.extent is not None and not intersects(settings.extent, lonlat_bounds(tile))
        if outside_zoom or outside_extent:
            rendered, hit = RenderedTile(empty_tile(settings.tile_size, settings.format), settings.content_type), True
        else:
            key = (service.id, service.version, settings.tile_size, settings.format, tile.z, tile.x, tile.y)
            if self.cache.get(key) is None:
                self._check_budget(service)  # cached tiles cost nothing and are still served
                await self._check_owner_month(service)
            rendered, hit = await self.cache.get_or_render(key, lambda: self._render(service, settings, tile))
        # renders are logged at info; cache hits (the gateway's access log has each request) at debug
        (log.debug if hit else log.info)(
            "tile", service_id=service.id, z=tile.z, x=tile.x, y=tile.y, cache_hit=hit, size=len(rendered.data)
        )
        for offset in range(0, max(len(rendered.data), 1), CHUNK):
            first = offset == 0
            yield tiles_pb2.TileChunk(
                data=rendered.data[offset : offset + CHUNK],
                content_type=rendered.content_type if first else "",
                etag=etag if first else "",
                max_age=self.max_age if first else 0,
                cache_hit=hit if first else False,
            )

    async def close(self) -> None:
        await self.spending.close()

    def _check_budget(self, service: store_pb2.Service) -> None:
        if service.budget <= 0:
            return
        spent = self.spending.spent(service)
        if spent >= service.budget:
            raise OpenEOError(
                "PaymentRequired",
                f"The service's budget of {service.budget:g} processing units is spent: its tiles have used "
                f"{spent:.4g} processing units. Raise the budget (PATCH /services/{service.id}) to render "
                "further tiles.",
                402,
            )

    async def _check_owner_month(self, service: store_pb2.Service) -> None:
        limit = service.processing_units_per_month
        if limit <= 0:
            return
        month = await self.owner_months.get(service.user_id)
        if month is None:
            return
        spent = month.processing_units + self.spending.unconfirmed_of(service.user_id)
        if spent >= limit:
            days = max(1, round(month.seconds_to_next_month / 86400))
            raise OpenEOError(
                "QuotaExceeded",
                f"The monthly limit of {limit:g} processing units of this service's billing plan is reached: its "
                f"owner has spent {spent:.4g} processing units this month. New tiles are rendered again from the "
                f"next month (in about {days} day(s)); tiles already rendered are still served.",
                429,
            )

    async def _render(self, service: store_pb2.Service, settings: TileSettings, tile) -> RenderedTile:
        """Compile the service's graph for the tile's bounds and let the executor run it.

        Sentinel Hub requests are paid by the backend's own account (User without a token).
        """
        owner = common_pb2.User(user_id=service.user_id)
        bounds = west, south, east, north = mercator_bounds(tile)
        template_key = (service.id, service.version, settings.tile_size, tile.z)
        try:
            plan = self.templates.plan_for(template_key, bounds)
            if plan is None:
                plan = await self.compiler.Compile(
                    compiler_pb2.CompileRequest(
                        user=owner,
                        process_json=service.process_json,
                        purpose=compiler_pb2.PURPOSE_TILE,
                        tile=compiler_pb2.TileBounds(
                            west=west, south=south, east=east, north=north, epsg=3857, size=settings.tile_size
                        ),
                        output_format=settings.gdal_format,
                    )
                )
                self.templates.learn(template_key, bounds, plan)
            parts: list[bytes] = []
            content_type = settings.content_type
            processing_units = 0.0
            async for chunk in self.executor.Execute(executor_pb2.ExecuteRequest(user=owner, plan=plan)):
                if chunk.content_type:
                    content_type = chunk.content_type
                processing_units = max(processing_units, chunk.processing_units)
                parts.append(chunk.data)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        # counted once per render: requests coalesced onto it and cache hits spend nothing
        self.spending.add(service.id, service.user_id, processing_units)
        return RenderedTile(b"".join(parts), content_type)
