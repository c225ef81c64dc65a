"""The limits of a user's billing plan (`gateway.billing`), checked with the store's counters
(shared by every gateway replica; OIDC users count per user although they spend the backend's
Sentinel Hub account). Over a limit: 429 with `Retry-After` and a message naming the limit."""

from __future__ import annotations

import asyncio
import math
from contextlib import asynccontextmanager

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, store_pb2
from gateway.billing import LIMIT_TEXT, BillingPlan
from gateway.clients import Clients
from gateway.costs import format_pu
from gateway.errors import api_error

log = get_logger(__name__)
# A job's run time is not known in advance: a client over the concurrent-jobs limit is told to
# look again after this long.
JOB_SLOT_RETRY_SECONDS = 60


class QuotaExceeded(OpenEOError):
    """429 with the headers the error answer carries (`Retry-After`, whole seconds)."""

    def __init__(self, message: str, retry_after_seconds: float):
        super().__init__("QuotaExceeded", message, 429)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after_seconds)))}


def _figure(value: float) -> str:
    return format_pu(value) if isinstance(value, float) and not float(value).is_integer() else str(int(value))


def over_limit(plan: BillingPlan, limit: str, value: float, retry_after_seconds: float, detail: str = "") -> QuotaExceeded:
    message = (f"The limit of your billing plan '{plan.name}' of {_figure(value)} {LIMIT_TEXT[limit]} "
               f"({limit}) is reached{detail}. Try again in {max(1, math.ceil(retry_after_seconds))} s.")
    log.info("quota_exceeded", plan=plan.name, limit=limit, retry_after_s=round(retry_after_seconds, 1))
    return QuotaExceeded(message, retry_after_seconds)


class SyncSlot:
    """An admitted synchronous request's in-flight slot; `release` frees it once."""

    def __init__(self, clients: Clients, admission: store_pb2.SyncAdmission):
        self._clients = clients
        self._admission = admission
        self._released = not admission.slot_id
        self.spent_this_month = admission.spent_this_month

    async def release(self) -> None:
        """Frees the slot. Shielded: a client that hangs up once it has the whole answer cancels
        the handler, which must neither cancel the release nor turn a delivered answer into an
        error."""
        if self._released:
            return
        self._released = True
        task = asyncio.create_task(_release(self._clients, self._admission.slot_id, self._admission.slot_token))
        _RELEASES.add(task)
        task.add_done_callback(_RELEASES.discard)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            pass


@asynccontextmanager
async def sync_admission(clients: Clients, user: common_pb2.User, plan: BillingPlan, *, slot_seconds: int,
                         capacity: int = 0):
    """Holds one of the user's in-flight slots while the request runs (429 when none is free, or
    over the per-minute or monthly limit); released at the latest when the block ends."""
    limits = plan.limits
    admission = await clients.store.AdmitSyncRequest(store_pb2.SyncAdmissionRequest(
        user_id=user.user_id, requests_per_minute=int(limits.sync_requests_per_minute),
        in_flight=int(limits.sync_requests_in_flight), processing_units_per_month=limits.processing_units_per_month,
        slot_seconds=slot_seconds, shared_capacity=capacity))
    if not admission.admitted:
        detail = (f" ({format_pu(admission.spent_this_month)} spent this month)"
                  if admission.limit == "processing_units_per_month" else "")
        raise over_limit(plan, admission.limit, admission.limit_value, admission.retry_after_seconds, detail)
    slot = SyncSlot(clients, admission)
    try:
        yield slot
    finally:
        await slot.release()


async def release_before_last(first, rest, release):
    """The chunks `first`, then `rest`, with `release()` awaited before the last one is handed
    on: a client has the whole answer only after the slot is free, so its next request finds it
    free (one chunk of look-ahead)."""
    previous = first
    async for chunk in rest:
        yield previous
        previous = chunk
    await release()
    yield previous


_RELEASES: set[asyncio.Task] = set()


async def _release(clients: Clients, slot_id: str, token: str) -> None:
    try:
        await clients.store.ReleaseSyncSlot(store_pb2.SyncSlotRef(slot_id=slot_id, slot_token=token))
    except Exception as exc:  # noqa: BLE001 - the slot expires by itself
        log.warning("sync_slot_release_failed", error=str(exc)[:200])


def check_sync_size(plan: BillingPlan, processing_units: float) -> None:
    """A synchronous request above the plan's largest size never fits: 400, use a batch job."""
    largest = plan.limits.largest_sync_request
    if largest > 0 and processing_units > largest:
        raise api_error("ProcessGraphComplexity",
                        f"This synchronous request costs {format_pu(processing_units)} processing units, more than "
                        f"the {_figure(largest)} of one synchronous request (largest_sync_request) in your billing "
                        f"plan '{plan.name}'. Please use a batch job.", 400)


def check_budget(budget: float | None, processing_units: float, what: str) -> None:
    """PaymentRequired (402, as the API asks of a job whose budget is too low to process it)
    naming both figures when the estimate exceeds the budget."""
    if budget and processing_units > budget:
        raise api_error("PaymentRequired",
                        f"The {what} is estimated at {format_pu(processing_units)} processing units, more than its "
                        f"budget of {format_pu(budget)}. Raise the budget or reduce the extent.", 402)


async def check_job_start(clients: Clients, user: common_pb2.User, plan: BillingPlan,
                          processing_units: float | None) -> None:
    """429 when the user has as many jobs queued or running as the plan allows, or when the
    month's spending has reached the plan's limit (with the job's estimate, when it is known:
    would go over it)."""
    limits = plan.limits
    if not (limits.concurrent_jobs or limits.processing_units_per_month):
        return
    spending = await clients.store.GetUserSpending(store_pb2.UserSpendingRequest(user_id=user.user_id))
    if limits.concurrent_jobs and spending.active_jobs >= limits.concurrent_jobs:
        raise over_limit(plan, "concurrent_jobs", limits.concurrent_jobs, JOB_SLOT_RETRY_SECONDS,
                         f" ({spending.active_jobs} queued or running)")
    monthly = limits.processing_units_per_month
    over = (spending.processing_units >= monthly if processing_units is None
            else spending.processing_units + processing_units > monthly)
    if monthly and over:
        estimated = "" if processing_units is None else f", this job is estimated at {format_pu(processing_units)}"
        raise over_limit(plan, "processing_units_per_month", monthly, spending.seconds_to_next_month,
                         f" ({format_pu(spending.processing_units)} spent this month{estimated})")
