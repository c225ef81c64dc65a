"""Processing units spent by each service's rendered tiles, sent to the store in batches.

One `AddServiceSpending` call every `interval` seconds carries the sum per service (the store
`$inc`s the service's `costs` and its owner's month), instead of one write per tile. Amounts are
kept until the store confirmed them: a failed call puts them back for the next one, and `close()`
sends the rest at shutdown. A reply lost after the store applied it would count those tiles twice
(at most one period's worth); that errs on the side of the budget.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from backend_common.logging import get_logger
from backend_proto.v1 import store_pb2

log = get_logger(__name__)


@dataclass
class _Pending:
    user_id: str
    processing_units: float = 0.0
    tiles: int = 0


class SpendingTally:
    def __init__(self, store, interval: float = 2.0, on_confirmed=None):
        self.store = store
        self.interval = interval
        #: called with the owners whose amounts the store just confirmed (their months changed)
        self.on_confirmed = on_confirmed
        self._pending: dict[str, _Pending] = {}
        self._sending: dict[str, _Pending] = {}
        #: each service's costs as the store last confirmed them (covers what was sent)
        self._confirmed: dict[str, float] = {}
        self._task: asyncio.Task | None = None
        self._closed = False

    def add(self, service_id: str, user_id: str, processing_units: float) -> None:
        entry = self._pending.setdefault(service_id, _Pending(user_id))
        entry.processing_units += max(0.0, processing_units)
        entry.tiles += 1
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(), name="tiles-spending")

    def spent(self, service: store_pb2.Service) -> float:
        """The service's spending as far as this replica knows: the store's figure (the service
        document, or a newer confirmed total) plus what is not confirmed yet."""
        unsent = sum(p.processing_units for p in (self._pending.get(service.id), self._sending.get(service.id)) if p)
        return max(service.costs, self._confirmed.get(service.id, 0.0)) + unsent

    def unconfirmed_of(self, user_id: str) -> float:
        """PUs of the owner's services' tiles the store has not confirmed yet."""
        return sum(p.processing_units for entries in (self._pending, self._sending)
                   for p in entries.values() if p.user_id == user_id)

    async def flush(self) -> bool:
        """Sends what is pending; True when nothing is left unconfirmed."""
        if not self._pending or self._sending:
            return not self._pending and not self._sending
        self._sending, self._pending = self._pending, {}
        batch = store_pb2.ServiceSpendingBatch(entries=[
            store_pb2.ServiceSpendingEntry(service_id=sid, user_id=p.user_id,
                                           processing_units=p.processing_units, tiles=p.tiles)
            for sid, p in self._sending.items()
        ])
        try:
            totals = await self.store.AddServiceSpending(batch)
        except (grpc.RpcError, asyncio.CancelledError) as exc:
            for sid, p in self._sending.items():
                entry = self._pending.setdefault(sid, _Pending(p.user_id))
                entry.processing_units += p.processing_units
                entry.tiles += p.tiles
            self._sending = {}
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.warning("service_spending_not_sent", services=len(batch.entries), error=str(exc)[:200])
            return False
        if len(self._confirmed) > 10_000:
            self._confirmed.clear()
        self._confirmed.update(totals.costs)
        owners = {p.user_id for p in self._sending.values()}
        self._sending = {}
        if self.on_confirmed is not None:
            self.on_confirmed(owners)
        return not self._pending

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.flush()
                if not self._pending:
                    self._task = None  # restarted by the next add
                    return
        except asyncio.CancelledError:
            self._task = None
            raise

    async def close(self, attempts: int = 5) -> None:
        """Stops the periodic sending and sends the rest (retried a few times)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for attempt in range(attempts):
            if await self.flush():
                return
            await asyncio.sleep(min(2.0, 0.2 * 2**attempt))
        lost = sum(p.processing_units for p in self._pending.values())
        log.error("service_spending_lost", services=len(self._pending), processing_units=lost)
