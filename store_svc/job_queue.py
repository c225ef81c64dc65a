"""The batch job queue on MongoDB: claim, renew the lease, complete.

Claiming never uses find_one_and_update: SecantusDB answers it at a few per second once the
collection holds a few thousand documents, and a candidate query costs time proportional to the
number of queued jobs (it examines every match before sorting/limiting). Instead:
  1. read a batch of candidates: running jobs whose lease expired, then queued jobs with their
     owners taking turns (`fair_order`: one user's backlog does not hold up another user's job),
     each owner's oldest first. The batch is kept in
     memory for a short while and shared by concurrent claims of this process, so one read
     serves many claims;
  2. for each candidate, `update_one` conditioned on (_id, status, version): exactly one
     claimer (of any store replica) can match, since each write bumps `version`. A stale
     candidate (claimed, canceled, re-queued or deleted meanwhile) simply does not match and the
     claimer takes the next one.
So no job is ever claimed twice at once, whatever the state of the cached batch. Expired leases
are only taken over when the database has been reachable for a grace period
(`store_svc.availability`): during an outage live workers cannot renew. The lease token identifies the claim; renewals and the
completion are conditioned on it, so a worker whose lease was taken over can no longer write.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque

from backend_common.logging import get_logger
from backend_proto.v1 import store_pb2
from store_svc import job_results, job_states
from store_svc.availability import DatabaseAvailability
from store_svc.database import Database
from store_svc.errors import bad_request, lease_lost
from store_svc.ids import new_lease_token
from store_svc.timeutil import after_seconds, utc_now

log = get_logger(__name__)

CANDIDATES = 32
# Owners taking turns in one batch of candidates, and jobs of each.
MAX_OWNERS = 64
PER_OWNER = 8
CANDIDATES_MAX_AGE_SECONDS = 1.0
# Gives up (answering 'no job') after this many lost races in one call.
MAX_TRIES = 4 * CANDIDATES
DEFAULT_LEASE_SECONDS = 60
MAX_LEASE_SECONDS = 3600
_CANDIDATE_FIELDS = {"_id": 1, "user_id": 1, "status": 1, "version": 1, "attempts": 1, "queued_at": 1, "lease_expires": 1}


def lease_seconds(requested: int) -> int:
    if requested <= 0:
        return DEFAULT_LEASE_SECONDS
    return min(requested, MAX_LEASE_SECONDS)


def fair_order(queued: dict[str, list[dict]], running: Counter) -> list[dict]:
    """Every owner's queued jobs (each list oldest first) interleaved so that owners take turns:
    the next job is always that of the owner with the fewest jobs running or already placed
    before it (ties: the oldest waiting job first). A backlog of one owner thus delays another
    owner's job by at most about one job per worker."""
    heads = {owner: 0 for owner, jobs in queued.items() if jobs}
    load = Counter({owner: running.get(owner, 0) for owner in heads})
    out: list[dict] = []
    while heads:
        owner = min(heads, key=lambda o: (load[o], queued[o][heads[o]].get("queued_at") is None,
                                          queued[o][heads[o]].get("queued_at") or 0, o))
        out.append(queued[owner][heads[owner]])
        load[owner] += 1
        heads[owner] += 1
        if heads[owner] == len(queued[owner]):
            del heads[owner]
    return out


async def read_candidates(jobs, now) -> list[dict]:
    """Running jobs whose lease expired (they were started before: first), then queued jobs in
    the owners' turns (`fair_order`): each owner's oldest, the owners with the fewest running jobs
    first."""
    owners, running, expired = await asyncio.gather(
        jobs.aggregate([{"$match": {"status": "queued"}},
                        {"$group": {"_id": "$user_id", "first": {"$min": "$queued_at"}}}]).to_list(None),
        jobs.find({"status": "running"}, {"user_id": 1}).to_list(None),
        jobs.find({"status": "running", "lease_expires": {"$lte": now}}, _CANDIDATE_FIELDS)
        .sort([("lease_expires", 1)]).limit(CANDIDATES).to_list(length=CANDIDATES),
    )
    busy = Counter(doc.get("user_id") for doc in running)
    owners.sort(key=lambda o: (busy[o["_id"]], o.get("first") is None, o.get("first") or now))
    chosen = [o["_id"] for o in owners[:MAX_OWNERS]]
    per_owner = await asyncio.gather(*(
        jobs.find({"status": "queued", "user_id": owner}, _CANDIDATE_FIELDS).sort([("queued_at", 1)])
        .limit(PER_OWNER).to_list(length=PER_OWNER) for owner in chosen))
    return expired + fair_order(dict(zip(chosen, per_owner)), busy)


class CandidateBatch:
    """Candidates shared by the concurrent claims of this process; refilled when used up or older
    than CANDIDATES_MAX_AGE_SECONDS (so newly expired leases, and jobs queued through other store
replicas, are noticed), or when a job is queued through this one. One refill at a time."""

    def __init__(self, jobs):
        self.jobs = jobs
        self._items: deque[dict] = deque()
        self._filled_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """The next claim reads a new batch (a job was queued: its owner may be due first)."""
        self._filled_at = float("-inf")

    def _fresh(self) -> bool:
        return bool(self._items) and time.monotonic() - self._filled_at < CANDIDATES_MAX_AGE_SECONDS

    async def next(self) -> dict | None:
        """The next candidate (None when no job is waiting); reads a new batch when this one is
        used up or old."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    self._items = deque(await read_candidates(self.jobs, utc_now()))
                    self._filled_at = time.monotonic()
        return self._items.popleft() if self._items else None


class JobQueue:
    def __init__(self, database: Database, *, max_attempts: int, availability: DatabaseAvailability | None = None,
                 on_costs=None):
        self.jobs = database.jobs
        #: async (user_id, processing units): a completed job's costs count in its owner's spending
        self.on_costs = on_costs
        self.max_attempts = max_attempts
        self.candidates = CandidateBatch(self.jobs)
        self.availability = availability or DatabaseAvailability(0.0)

    async def claim(self, request: store_pb2.ClaimJobRequest) -> tuple[dict | None, str]:
        """Claims the oldest waiting job for `worker_id`; (None, "") when none is waiting."""
        if not request.worker_id:
            raise bad_request("InvalidArgument", "A worker id is required to claim a job.")
        seconds = lease_seconds(request.lease_seconds)
        for _ in range(MAX_TRIES):
            candidate = await self.candidates.next()
            if candidate is None:
                return None, ""
            claimed = await self._try_claim(candidate, request.worker_id, seconds)
            if claimed is not None:
                return claimed
        return None, ""

    async def _try_claim(self, candidate: dict, worker_id: str, seconds: int) -> tuple[dict, str] | None:
        now = utc_now()
        if candidate["status"] == "running" and not (
            job_states.lease_expired(candidate, now) and self.availability.expired_leases_claimable()
        ):
            return None
        token = new_lease_token()
        changes = job_states.claim_changes(
            candidate, now, worker_id=worker_id, lease_token=token, lease_seconds=seconds,
            max_attempts=self.max_attempts,
        )
        selector = {"_id": candidate["_id"], "status": candidate["status"], "version": candidate["version"]}
        result = await self.jobs.update_one(selector, {"$set": changes, "$inc": {"version": 1}})
        if result.matched_count != 1:
            return None  # another worker, a user's cancel or a re-queue got there first
        if changes["status"] != "running":
            log.warning("job_ended_executor_lost", job_id=candidate["_id"], status=changes["status"],
                        attempts=candidate.get("attempts"))
            return None
        doc = await self.jobs.find_one({"_id": candidate["_id"], "lease_token": token})
        if doc is None:  # deleted in the meantime
            return None
        log.info("job_claimed", job_id=doc["_id"], worker_id=worker_id, attempt=doc["attempts"])
        return doc, token

    async def renew(self, request: store_pb2.RenewLeaseRequest) -> tuple[bool, bool]:
        """Extends the lease (and records progress); returns (lease_held, cancel_requested)."""
        if not request.job_id or not request.lease_token:
            return False, False
        now = utc_now()
        changes = {"lease_expires": after_seconds(now, lease_seconds(request.lease_seconds)), "updated": now}
        if request.progress >= 0:
            changes["progress"] = min(float(request.progress), 100.0)
        if request.HasField("partial_results"):
            changes["results"] = job_results.to_document(job_results.check(request.partial_results))
        selector = {"_id": request.job_id, "status": "running", "lease_token": request.lease_token}
        result = await self.jobs.update_one(selector, {"$set": changes, "$inc": {"version": 1}})
        if result.matched_count != 1:
            return False, False
        doc = await self.jobs.find_one({"_id": request.job_id}, {"cancel_requested": 1})
        return True, bool(doc and doc.get("cancel_requested"))

    async def complete(self, request: store_pb2.CompleteJobRequest) -> dict:
        """Writes the final state, only for the holder of the current lease. Repeating the same
        completion with the same token (a retry after a lost reply) returns the job unchanged."""
        changes = job_states.complete_changes(request, utc_now())
        if not request.lease_token:
            raise lease_lost(request.job_id)
        changes["completed_lease"] = request.lease_token
        selector = {"_id": request.job_id, "status": "running", "lease_token": request.lease_token}
        result = await self.jobs.update_one(selector, {"$set": changes, "$inc": {"version": 1}})
        doc = await self.jobs.find_one({"_id": request.job_id})
        if doc is None:
            raise lease_lost(request.job_id)
        if result.matched_count != 1:
            if doc.get("completed_lease") == request.lease_token and doc["status"] == request.status:
                return doc  # this very completion was already written
            raise lease_lost(request.job_id)
        log.info("job_completed", job_id=request.job_id, status=request.status)
        if self.on_costs is not None and request.costs > 0:
            await self.on_costs(doc.get("user_id", ""), request.costs)
        return doc

    async def release(self, request: store_pb2.ReleaseJobRequest) -> dict:
        """Gives a claimed job back (queued again, or error when no attempt is left), only for the
        holder of the current lease. Repeating it with the same token returns the job unchanged."""
        if not request.lease_token:
            raise lease_lost(request.job_id)
        selector = {"_id": request.job_id, "status": "running", "lease_token": request.lease_token}
        doc = await self.jobs.find_one(selector)
        if doc is not None:
            changes = job_states.release_changes(doc, request, utc_now(), max_attempts=self.max_attempts)
            result = await self.jobs.update_one({**selector, "version": doc["version"]},
                                                {"$set": changes, "$inc": {"version": 1}})
            if result.matched_count == 1:
                log.info("job_released", job_id=request.job_id, status=changes["status"], attempts=doc.get("attempts"))
                return {**doc, **changes, "version": doc["version"] + 1}
        current = await self.jobs.find_one({"_id": request.job_id})
        if current is not None and current.get("released_lease") == request.lease_token:
            return current  # this very release was already written
        raise lease_lost(request.job_id)
