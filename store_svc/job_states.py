"""openEO batch-job status rules as pure functions: each returns the `$set` changes a transition
makes to a job document (or None when the transition is a no-op). The callers apply them with a
write conditioned on the document's `version`, so a concurrent change is never overwritten."""

from __future__ import annotations

import json
from datetime import datetime

from backend_proto.v1 import store_pb2
from store_svc import credentials, job_results, validation
from store_svc.errors import bad_request, job_locked
from store_svc.timeutil import after_seconds

LOCKED = frozenset({"queued", "running"})
FINAL = frozenset({"finished", "error", "canceled"})
# update_mask name -> (document field, how to read and check the value from the request)
_PATCHABLE = {
    "title": ("title", lambda r: r.title),
    "description": ("description", lambda r: r.description),
    "process": ("process_json", lambda r: validation.process_json(r.process_json)),
    "plan": ("plan", lambda r: r.plan),
    "budget": ("budget", lambda r: validation.budget(r.budget)),
    "log_level": ("log_level", lambda r: validation.log_level(r.log_level)),
    "job_options": ("job_options_json", lambda r: validation.json_text("job_options", r.job_options_json, user_document=True)),
}


def patch_changes(request: store_pb2.UpdateJobRequest) -> dict:
    """The fields a PATCH changes, validated. Unknown or no field names are 400 errors."""
    return validation.patch_changes(request, _PATCHABLE)


def check_patchable(doc: dict) -> None:
    if doc["status"] in LOCKED:
        raise job_locked()


def _fresh_run_fields() -> dict:
    return {
        "progress": 0.0,
        "error_json": "",
        "results": None,  # also hides an old `results_json` (see store_svc.job_results)
        "usage_json": "",
        "costs": 0.0,
        "attempts": 0,
        "cancel_requested": False,
        "lease_token": None,
        "lease_expires": None,
        "worker_id": None,
        "started": None,
        "finished": None,
        "completed_lease": None,
        "released_lease": None,
    }


def queue_changes(doc: dict, now: datetime, *, owner_credentials: dict, run_id: str) -> dict | None:
    """created/finished/error/canceled -> queued with a clean slate, a new run id and the owner's
    current credentials. Starting a queued or running job again changes nothing but the stored
    credentials (a fresh login refreshes them for the attempts still to come); None when even
    those are unchanged."""
    if doc["status"] in LOCKED:
        if doc.get(credentials.FIELD) == owner_credentials:
            return None
        return {credentials.FIELD: owner_credentials}
    return {**_fresh_run_fields(), "status": "queued", "queued_at": now, "updated": now, "run_id": run_id,
            credentials.FIELD: owner_credentials}


def cancel_changes(doc: dict, now: datetime) -> dict | None:
    """queued -> canceled at once; running -> cancel flag (the worker stops on its next lease
    renewal). None when there is nothing to cancel."""
    if doc["status"] == "queued":
        return {"status": "canceled", "queued_at": None, "finished": now, "updated": now}
    if doc["status"] == "running" and not doc.get("cancel_requested"):
        return {"cancel_requested": True, "updated": now}
    return None


def lease_expired(doc: dict, now: datetime) -> bool:
    expires = doc.get("lease_expires")
    return doc["status"] == "running" and expires is not None and expires <= now


def claim_changes(doc: dict, now: datetime, *, worker_id: str, lease_token: str, lease_seconds: int,
                  max_attempts: int) -> dict:
    """Claiming a queued job, or re-claiming one whose executor lost it (lease expired). A job
    already claimed `max_attempts` times fails instead of running again."""
    attempts = int(doc.get("attempts") or 0)
    if doc["status"] == "running" and doc.get("cancel_requested"):
        # The executor was lost after the user asked to cancel: nothing left to do.
        return {**_lease_cleared(now), "status": "canceled"}
    if doc["status"] == "running" and attempts >= max_attempts:
        return lost_too_often_changes(attempts, now)
    return {
        "status": "running",
        "attempts": attempts + 1,
        "lease_token": lease_token,
        "lease_expires": after_seconds(now, lease_seconds),
        "worker_id": worker_id,
        "started": now,
        "updated": now,
    }


def _lease_cleared(now: datetime) -> dict:
    return {
        "lease_token": None,
        "lease_expires": None,
        "worker_id": None,
        "queued_at": None,
        "finished": now,
        "updated": now,
    }


def lost_too_often_changes(attempts: int, now: datetime) -> dict:
    error = {"code": "Internal", "message": f"Batch job failed: executor lost {attempts} times."}
    return {**_lease_cleared(now), "status": "error", "error_json": json.dumps(error)}


def release_changes(doc: dict, request: store_pb2.ReleaseJobRequest, now: datetime, *, max_attempts: int) -> dict:
    """A worker gives its job back after a transient infrastructure failure: queued again (the
    attempt counted when it was claimed), or `error` with the worker's message once `max_attempts`
    claims were spent."""
    attempts = int(doc.get("attempts") or 0)
    if attempts >= max_attempts:
        error = validation.json_text("error", request.error_json) or json.dumps(
            {"code": "Internal", "message": "Batch job failed: the service was temporarily unavailable."})
        return {**_lease_cleared(now), "status": "error", "error_json": error, "released_lease": request.lease_token}
    return {
        "status": "queued",
        # keeps its place in the queue: it was waiting before the jobs queued after it
        "queued_at": doc.get("queued_at") or now,
        "lease_token": None,
        "lease_expires": None,
        "worker_id": None,
        "updated": now,
        "released_lease": request.lease_token,
    }


def complete_changes(request: store_pb2.CompleteJobRequest, now: datetime) -> dict:
    """The final state a worker reports: finished (results), error (error object) or canceled."""
    status = request.status
    if status not in FINAL:
        raise bad_request("InvalidArgument", f"A job can only complete as finished, error or canceled, not '{status}'.")
    changes = {
        "status": status,
        "results": job_results.to_document(job_results.check(request.results)) if request.HasField("results") else None,
        "error_json": validation.json_text("error", request.error_json),
        "usage_json": validation.json_text("usage", request.usage_json),
        "costs": float(request.costs) if request.costs > 0 else 0.0,
        **_lease_cleared(now),
    }
    if status == "finished":
        changes["progress"] = 100.0
    if status == "error" and not changes["error_json"]:
        changes["error_json"] = json.dumps({"code": "Internal", "message": "Batch job failed."})
    return changes
