"""Job logs: workers append entries, users page through them.

Each job document holds a counter `log_seq`; appending n entries reserves seq numbers
old+1..old+n with a write conditioned on the counter's old value (atomic, no duplicate ids even
with concurrent appenders), then inserts the entries. Ids are zero-padded seq numbers, so they
sort as strings; a failed insert leaves a gap, never a reordering.

An append that carries an `append_id` is idempotent: its entries' document ids derive from the
key (`<job>:a:<key>:<n>`), so a retry finds them already stored (nothing new, no seq reserved),
and a retry racing the first attempt loses on the primary key instead of storing twice.
"""

from __future__ import annotations

import re

from backend_proto.v1 import store_pb2
from backend_common.logging import get_logger
from pymongo.errors import BulkWriteError, PyMongoError

from store_svc import documents, validation
from store_svc.database import Database
from store_svc.errors import bad_request, job_not_found, version_conflict
from store_svc.timeutil import parse_rfc3339, utc_now

log = get_logger(__name__)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
MAX_ENTRIES_PER_APPEND = 1000
MAX_RESERVE_ROUNDS = 32
DUPLICATE_KEY = 11000
APPEND_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def entry_document(job_id: str, seq: int, entry: store_pb2.LogEntry, now) -> dict:
    """A log entry as stored; validates level, time and data (pure)."""
    level = validation.log_level(entry.level)
    try:
        time = parse_rfc3339(entry.time) if entry.time else now
    except ValueError:
        raise bad_request("InvalidArgument", f"Log entry time '{entry.time}' is not an RFC 3339 timestamp.") from None
    return {
        "_id": f"{job_id}:{documents.log_id(seq)}",
        "job_id": job_id,
        "seq": seq,
        "level": level,
        "severity": validation.SEVERITY[level],
        "message": entry.message,
        "time": time,
        "data_json": validation.json_text("data", entry.data_json, want_object=False),
        "node_id": entry.node_id,
        "code": entry.code,
    }


async def _reserve_sequence(database: Database, job_id: str, count: int) -> int:
    """Reserves `count` seq numbers for the job's logs; returns the first one."""
    for _ in range(MAX_RESERVE_ROUNDS):
        job = await database.jobs.find_one({"_id": job_id}, {"log_seq": 1})
        if job is None:
            raise job_not_found(job_id)
        current = int(job.get("log_seq") or 0)
        result = await database.jobs.update_one(
            {"_id": job_id, "log_seq": current}, {"$set": {"log_seq": current + count}}
        )
        if result.matched_count == 1:
            return current + 1
    raise version_conflict("batch job log", job_id)


def entry_id(job_id: str, seq: int, append_id: str, offset: int) -> str:
    """The document id of an entry: by append key and position when there is a key (pure)."""
    if append_id:
        return f"{job_id}:a:{append_id}:{offset}"
    return f"{job_id}:{documents.log_id(seq)}"


async def append(database: Database, request: store_pb2.AppendJobLogsRequest) -> int:
    """Appends the entries to the job's log; returns how many were stored (0 for a repeated
    `append_id`)."""
    job_id = request.job_id
    append_id = request.append_id
    if not request.entries:
        return 0
    if len(request.entries) > MAX_ENTRIES_PER_APPEND:
        raise bad_request("InvalidArgument", f"At most {MAX_ENTRIES_PER_APPEND} log entries per call.")
    if append_id and not APPEND_ID.fullmatch(append_id):
        raise bad_request("InvalidArgument", "append_id must be 1 to 64 of A-Z, a-z, 0-9, '_' and '-'.")
    now = utc_now()
    # Validate every entry before reserving ids, so bad input changes nothing.
    drafts = [entry_document(job_id, 0, entry, now) for entry in request.entries]
    if append_id:
        ids = [entry_id(job_id, 0, append_id, offset) for offset in range(len(drafts))]
        stored = await database.job_logs.count_documents({"_id": {"$in": ids}})
        if stored == len(drafts):
            return 0  # a retry of an append that went through
    first = await _reserve_sequence(database, job_id, len(drafts))
    docs = []
    for offset, draft in enumerate(drafts):
        seq = first + offset
        docs.append({**draft, "_id": entry_id(job_id, seq, append_id, offset), "seq": seq})
    try:
        await database.job_logs.insert_many(docs, ordered=not append_id)
        inserted = len(docs)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or []
        if not append_id or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        inserted = len(docs) - len(errors)  # the rest went in with an earlier attempt
    # The job may have been deleted meanwhile: then these entries must not outlive it.
    if await database.jobs.find_one({"_id": job_id}, {"_id": 1}) is None:
        await database.job_logs.delete_many({"job_id": job_id})
        raise job_not_found(job_id)
    return inserted


async def list_entries(database: Database, request: store_pb2.ListJobLogsRequest) -> tuple[list[dict], str]:
    """One page of the user's job log: entries after `offset`, at least `level` severe."""
    user_id = validation.require_user(request.user)
    job_id = request.job_id
    if await database.jobs.find_one({"_id": job_id, "user_id": user_id}, {"_id": 1}) is None:
        raise job_not_found(job_id)
    after = 0
    if request.offset:
        parsed = documents.parse_log_id(request.offset)
        if parsed is None:
            raise bad_request("OffsetInvalid", f"The log offset '{request.offset}' is invalid.")
        after = parsed
    min_severity = validation.SEVERITY[validation.log_level(request.level or "debug")]
    limit = DEFAULT_LIMIT if request.limit <= 0 else min(request.limit, MAX_LIMIT)
    query = {"job_id": job_id, "seq": {"$gt": after}}
    if min_severity > 1:
        query["severity"] = {"$gte": min_severity}
    cursor = database.job_logs.find(query).sort([("seq", 1)]).limit(limit + 1)
    docs = await cursor.to_list(length=limit + 1)
    if len(docs) > limit:
        docs = docs[:limit]
        return docs, documents.log_id(docs[-1]["seq"])
    return docs, ""


async def discard_job_logs(database: Database, job_id: str) -> None:
    """Deletes a deleted job's logs. Called after the job document is gone; if the delete is
    interrupted, the entries were marked to expire first and the TTL index removes them."""
    try:
        await database.job_logs.delete_many({"job_id": job_id})
    except PyMongoError:
        log.warning("job_logs_left_to_expire", job_id=job_id)


async def mark_logs_expired(database: Database, job_id: str) -> None:
    await database.job_logs.update_many({"job_id": job_id}, {"$set": {"expire_at": utc_now()}})
