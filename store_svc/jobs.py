"""Batch jobs of a user: create, read, list, PATCH, delete, start (queue) and cancel."""

from __future__ import annotations

from backend_proto.v1 import store_pb2
from store_svc import credentials, documents, job_states, validation
from store_svc.database import Database
from store_svc.errors import job_not_found, version_conflict
from store_svc.ids import new_job_id, new_run_id
from store_svc.logs import discard_job_logs, mark_logs_expired
from store_svc.paging import fetch_page
from store_svc.timeutil import utc_now
from store_svc.versioned import apply_changes


class JobStore:
    def __init__(self, database: Database):
        self.database = database
        self.jobs = database.jobs

    async def create(self, request: store_pb2.CreateJobRequest) -> dict:
        user_id = validation.require_user(request.user)
        doc = documents.new_job_document(
            new_job_id(),
            user_id,
            request,
            utc_now(),
            process_json=validation.process_json(request.process_json),
            log_level=validation.log_level(request.log_level),
            budget=validation.budget(request.budget),
            job_options_json=validation.json_text("job_options", request.job_options_json, user_document=True),
        )
        await self.jobs.insert_one(doc)
        return doc

    async def get(self, user, job_id: str) -> dict:
        user_id = validation.require_user(user)
        doc = await self.jobs.find_one({"_id": job_id, "user_id": user_id})
        if doc is None:
            raise job_not_found(job_id)
        return doc

    async def list(self, user, page) -> tuple[list[dict], str]:
        user_id = validation.require_user(user)
        return await fetch_page(self.jobs, {"user_id": user_id}, page)

    async def update(self, request: store_pb2.UpdateJobRequest) -> dict:
        user_id = validation.require_user(request.user)
        job_id = request.job_id
        changes = job_states.patch_changes(request)  # validate before touching the database
        expected = request.expected_version

        def compute(doc: dict) -> dict:
            job_states.check_patchable(doc)
            if expected and doc["version"] != expected:
                raise version_conflict("batch job", job_id)
            return {**changes, "updated": utc_now()}

        return await apply_changes(
            self.jobs, {"_id": job_id, "user_id": user_id}, compute,
            not_found=lambda: job_not_found(job_id), conflict=lambda: version_conflict("batch job", job_id),
        )

    async def delete(self, user, job_id: str) -> None:
        """Removes the job and its logs. A running job's worker loses its lease (its renewals and
        completion find no job) and stops."""
        user_id = validation.require_user(user)
        if await self.jobs.find_one({"_id": job_id, "user_id": user_id}, {"_id": 1}) is None:
            raise job_not_found(job_id)
        await mark_logs_expired(self.database, job_id)
        result = await self.jobs.delete_one({"_id": job_id, "user_id": user_id})
        if result.deleted_count == 0:
            raise job_not_found(job_id)
        await discard_job_logs(self.database, job_id)

    async def queue(self, user, job_id: str) -> dict:
        """Starts the job with the caller's current credentials (see `store_svc.credentials`)."""
        user_id = validation.require_user(user)
        owner = credentials.from_user(user)
        run_id = new_run_id()
        return await apply_changes(
            self.jobs, {"_id": job_id, "user_id": user_id},
            lambda doc: job_states.queue_changes(doc, utc_now(), owner_credentials=owner, run_id=run_id),
            not_found=lambda: job_not_found(job_id), conflict=lambda: version_conflict("batch job", job_id),
        )

    async def cancel(self, user, job_id: str) -> dict:
        user_id = validation.require_user(user)
        return await apply_changes(
            self.jobs, {"_id": job_id, "user_id": user_id}, lambda doc: job_states.cancel_changes(doc, utc_now()),
            not_found=lambda: job_not_found(job_id), conflict=lambda: version_conflict("batch job", job_id),
        )
