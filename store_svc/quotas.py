"""Per-user quotas and spending of the billing plans, shared by every gateway replica.

- spending: one document per user and UTC month (`_id` "user|YYYY-MM"), `$inc`-ed atomically by
  synchronous results (AddSpending) and by a job's completion (`add_spending` from the queue);
- requests per minute: one document per user and UTC minute, `$inc`-ed and read in one atomic
  find_one_and_update; it expires with the window (TTL index);
- requests in flight: slot documents `_id` "user|i" for i < limit (the plan's limit, lowered to
  an equal share of the backend's capacity while several users have requests in flight, so that
  one user's flood leaves the others their share). Inserting a slot id is the
  atomic claim (a duplicate id means taken); a slot whose holder never released it (a gateway that
  died) is taken over once its `expires` has passed. Released by id and token.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from backend_proto.v1 import store_pb2
from store_svc.database import Database
from store_svc.ids import new_lease_token
from store_svc.timeutil import after_seconds, utc_now

DEFAULT_SLOT_SECONDS = 900
ACTIVE = ("queued", "running")


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def seconds_to_next_month(now: datetime) -> float:
    days = calendar.monthrange(now.year, now.month)[1]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=days) - now).total_seconds()


def seconds_to_next_minute(now: datetime) -> float:
    return 60.0 - now.second - now.microsecond / 1e6


class Quotas:
    def __init__(self, database: Database):
        self.db = database.db
        self.jobs = database.jobs
        self.spending = database.db["spending"]
        self.windows = database.db["rate_windows"]
        self.slots = database.db["sync_slots"]

    async def spent(self, user_id: str, now: datetime) -> float:
        doc = await self.spending.find_one({"_id": f"{user_id}|{month_of(now)}"})
        return float(doc["processing_units"]) if doc else 0.0

    async def add_spending(self, user_id: str, processing_units: float, now: datetime | None = None) -> float:
        now = now or utc_now()
        if processing_units <= 0 or not user_id:
            return await self.spent(user_id, now)
        for attempt in range(3):
            try:
                doc = await self.spending.find_one_and_update(
                    {"_id": f"{user_id}|{month_of(now)}"},
                    {"$inc": {"processing_units": float(processing_units)},
                     "$setOnInsert": {"user_id": user_id, "month": month_of(now)}},
                    upsert=True, return_document=ReturnDocument.AFTER)
                break
            except DuplicateKeyError:
                # two first increments of a month raced to insert the document: the loser's
                # increment was not applied; the document exists now, so the next attempt is an update
                if attempt == 2:
                    raise
        # concurrent upserts may answer without the document (SecantusDB): the increment is applied
        return float(doc["processing_units"]) if doc else await self.spent(user_id, now)

    async def user_spending(self, user_id: str) -> store_pb2.UserSpending:
        now = utc_now()
        active = await self.jobs.count_documents({"user_id": user_id, "status": {"$in": list(ACTIVE)}})
        return store_pb2.UserSpending(month=month_of(now), processing_units=await self.spent(user_id, now),
                                      active_jobs=active, seconds_to_next_month=seconds_to_next_month(now))

    async def fair_share(self, user_id: str, capacity: int, now: datetime) -> tuple[int, int]:
        """(an equal share of the backend's capacity among the users holding live slots, this
        user included, at least 1; the slots this user holds)."""
        holders = await self.slots.find({"expires": {"$gt": now}}, {"user_id": 1}).to_list(None)
        users = {doc.get("user_id") for doc in holders} | {user_id}
        return max(1, capacity // len(users)), sum(doc.get("user_id") == user_id for doc in holders)

    async def _take_slot(self, user_id: str, limit: int, seconds: int, now: datetime) -> tuple[str, str] | None:
        token = new_lease_token()
        expires = after_seconds(now, seconds)
        for index in range(limit):
            slot_id = f"{user_id}|{index}"
            try:
                await self.slots.insert_one({"_id": slot_id, "token": token, "expires": expires, "user_id": user_id})
                return slot_id, token
            except DuplicateKeyError:
                taken = await self.slots.update_one({"_id": slot_id, "expires": {"$lte": now}},
                                                    {"$set": {"token": token, "expires": expires}})
                if taken.matched_count == 1:
                    return slot_id, token
        return None

    async def release(self, slot_id: str, token: str) -> None:
        if slot_id and token:
            await self.slots.delete_one({"_id": slot_id, "token": token})

    async def admit_sync(self, request: store_pb2.SyncAdmissionRequest) -> store_pb2.SyncAdmission:
        now = utc_now()
        user_id = request.user_id
        spent = await self.spent(user_id, now)
        monthly = request.processing_units_per_month
        if monthly > 0 and spent >= monthly:
            return store_pb2.SyncAdmission(admitted=False, limit="processing_units_per_month", limit_value=monthly,
                                           retry_after_seconds=seconds_to_next_month(now), spent_this_month=spent)
        slot = None
        # the limit holds atomically through the slot ids below it; slots taken while the share
        # was larger (higher ids) are counted
        limit = request.in_flight if request.in_flight > 0 else request.shared_capacity
        held = 0
        if limit > 0 and request.shared_capacity > 0:
            share, held = await self.fair_share(user_id, request.shared_capacity, now)
            limit = min(limit, share)
        if limit > 0:
            if held < limit:
                slot = await self._take_slot(user_id, limit, request.slot_seconds or DEFAULT_SLOT_SECONDS, now)
            if slot is None:
                return store_pb2.SyncAdmission(admitted=False, limit="sync_requests_in_flight",
                                               limit_value=limit, retry_after_seconds=1.0, spent_this_month=spent)
        if request.requests_per_minute > 0:
            minute = now.replace(second=0, microsecond=0)
            window = await self.windows.find_one_and_update(
                {"_id": f"{user_id}|{minute.strftime('%Y-%m-%dT%H:%M')}"},
                {"$inc": {"count": 1}, "$setOnInsert": {"expire_at": after_seconds(minute, 120)}},
                upsert=True, return_document=ReturnDocument.AFTER)
            if window["count"] > request.requests_per_minute:
                if slot is not None:
                    await self.release(*slot)
                return store_pb2.SyncAdmission(admitted=False, limit="sync_requests_per_minute",
                                               limit_value=request.requests_per_minute,
                                               retry_after_seconds=seconds_to_next_minute(now), spent_this_month=spent)
        slot_id, token = slot or ("", "")
        return store_pb2.SyncAdmission(admitted=True, slot_id=slot_id, slot_token=token, spent_this_month=spent)
