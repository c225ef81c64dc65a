"""The owners' spending of the month (the store's `GetUserSpending`), kept a few seconds per
owner: a service's tiles stop rendering once its owner's month reaches the billing plan's limit
(`Service.processing_units_per_month`), without a store call per tile."""

from __future__ import annotations

import asyncio
import time

import grpc

from backend_common.logging import get_logger
from backend_proto.v1 import store_pb2

log = get_logger(__name__)


class OwnerMonths:
    def __init__(self, store, ttl: float = 5.0):
        self.store = store
        self.ttl = ttl
        self._entries: dict[str, tuple[float, store_pb2.UserSpending]] = {}
        self._loading: dict[str, asyncio.Future] = {}

    async def get(self, user_id: str) -> store_pb2.UserSpending | None:
        """The owner's month as the store last said (None when the store cannot say: tiles go on,
        held by the service's own budget meanwhile)."""
        hit = self._entries.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        loading = self._loading.get(user_id)
        if loading is None:  # one store call per owner, however many tiles wait for it
            loading = asyncio.ensure_future(self._load(user_id))
            self._loading[user_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(user_id, None))
        return await asyncio.shield(loading)

    def forget(self, user_ids) -> None:
        """Owners whose tiles' spending the store has just added: their month is read again."""
        for user_id in user_ids:
            self._entries.pop(user_id, None)

    async def _load(self, user_id: str) -> store_pb2.UserSpending | None:
        try:
            month = await self.store.GetUserSpending(store_pb2.UserSpendingRequest(user_id=user_id))
        except grpc.RpcError as exc:
            log.warning("owner_month_unavailable", error=str(exc)[:200])
            return None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[user_id] = (time.monotonic(), month)
        return month
