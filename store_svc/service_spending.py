"""Processing units spent by secondary web services' tiles (AddServiceSpending).

Each entry `$inc`s the service document's `costs` and `tiles_rendered` atomically (no read, so
concurrent tiles_svc replicas never lose each other's increments) and adds the same units to the
owner's spending of this month, which the billing plans' quotas read. A service deleted meanwhile
still counts for its owner's month: the tiles were rendered and paid.
"""

from __future__ import annotations

from pymongo import ReturnDocument

from backend_proto.v1 import store_pb2
from store_svc.database import Database
from store_svc.quotas import Quotas


class ServiceSpending:
    def __init__(self, database: Database, quotas: Quotas):
        self.services = database.services
        self.quotas = quotas

    async def add(self, batch: store_pb2.ServiceSpendingBatch) -> store_pb2.ServiceSpendingTotals:
        totals = store_pb2.ServiceSpendingTotals()
        for entry in batch.entries:
            units = max(0.0, float(entry.processing_units))
            tiles = max(0, int(entry.tiles))
            if not entry.service_id or (units == 0 and tiles == 0):
                continue
            doc = await self.services.find_one_and_update(
                {"_id": entry.service_id},
                {"$inc": {"costs": units, "tiles_rendered": tiles}},
                projection={"costs": 1, "user_id": 1},
                return_document=ReturnDocument.AFTER,
            )
            owner = doc.get("user_id") if doc else entry.user_id
            if owner and units > 0:
                await self.quotas.add_spending(owner, units)
            if doc is not None:
                totals.costs[entry.service_id] = float(doc.get("costs") or 0.0)
        return totals
