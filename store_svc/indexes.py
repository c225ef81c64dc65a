"""Indexes, created at start-up (idempotent).

- jobs / services / process_graphs: (user_id, created desc, _id desc) for per-user listings.
- process_graphs: unique (user_id, process_graph_id).
- jobs: (status, queued_at) to find the oldest queued job, (status, lease_expires) to find
  running jobs whose lease expired, (status, user_id, queued_at) for each owner's oldest queued
  jobs (owners take turns).
- rate_windows: TTL on `expire_at` (per-minute request counters, `store_svc/quotas.py`);
  jobs: (user_id, status) to count a user's active jobs.
- job_logs: unique (job_id, seq) for offset paging; TTL on `expire_at`, which DeleteJob sets on
  a job's logs before removing them, so logs left behind by an interrupted delete expire anyway.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from store_svc.database import Database

LISTING = [("user_id", ASCENDING), ("created", DESCENDING), ("_id", DESCENDING)]


async def ensure_indexes(database: Database) -> None:
    await database.jobs.create_indexes(
        [
            IndexModel(LISTING, name="user_listing"),
            IndexModel([("status", ASCENDING), ("queued_at", ASCENDING)], name="queue_order"),
            IndexModel([("status", ASCENDING), ("lease_expires", ASCENDING)], name="queue_leases"),
            IndexModel([("status", ASCENDING), ("user_id", ASCENDING), ("queued_at", ASCENDING)],
                       name="queue_owner_order"),
        ]
    )
    await database.job_logs.create_indexes(
        [
            IndexModel([("job_id", ASCENDING), ("seq", ASCENDING)], name="job_log_order", unique=True),
            IndexModel([("expire_at", ASCENDING)], name="log_expiry", expireAfterSeconds=0),
        ]
    )
    await database.services.create_indexes([IndexModel(LISTING, name="user_listing")])
    await database.db["rate_windows"].create_indexes(
        [IndexModel([("expire_at", ASCENDING)], name="window_expiry", expireAfterSeconds=0)])
    await database.jobs.create_indexes(
        [IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="user_active_jobs")])
    await database.process_graphs.create_indexes(
        [
            IndexModel([("user_id", ASCENDING), ("process_graph_id", ASCENDING)], name="user_process_id", unique=True),
            IndexModel(LISTING, name="user_listing"),
        ]
    )
