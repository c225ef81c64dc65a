"""Secondary web services (openEO /services) of a user; `for_tiles` reads by id alone."""

from __future__ import annotations

from backend_proto.v1 import store_pb2
from store_svc import documents, validation
from store_svc.database import Database
from store_svc.errors import bad_request, service_not_found, version_conflict
from store_svc.ids import new_service_id
from store_svc.paging import fetch_page
from store_svc.timeutil import utc_now
from store_svc.versioned import apply_changes

_PATCHABLE = {
    "title": ("title", lambda r: r.title),
    "description": ("description", lambda r: r.description),
    "process": ("process_json", lambda r: validation.process_json(r.process_json)),
    "enabled": ("enabled", lambda r: bool(r.enabled)),
    "configuration": ("configuration_json", lambda r: validation.json_text("configuration", r.configuration_json, user_document=True)),
    "plan": ("plan", lambda r: r.plan),
    "budget": ("budget", lambda r: validation.budget(r.budget)),
    "log_level": ("log_level", lambda r: validation.log_level(r.log_level)),
}


def patch_changes(request: store_pb2.UpdateServiceRequest) -> dict:
    changes = validation.patch_changes(request, _PATCHABLE)
    if "plan" in changes:  # the plan's monthly limit travels with it (the gateway knows the plans)
        changes["processing_units_per_month"] = max(0.0, float(request.processing_units_per_month))
    return changes


class ServiceStore:
    def __init__(self, database: Database):
        self.services = database.services

    async def create(self, request: store_pb2.CreateServiceRequest) -> dict:
        user_id = validation.require_user(request.user)
        if not request.type:
            raise bad_request("ServiceUnsupported", "A service type is required.")
        doc = documents.new_service_document(
            new_service_id(),
            user_id,
            request,
            utc_now(),
            process_json=validation.process_json(request.process_json),
            configuration_json=validation.json_text("configuration", request.configuration_json, user_document=True),
            log_level=validation.log_level(request.log_level),
            budget=validation.budget(request.budget),
        )
        await self.services.insert_one(doc)
        return doc

    async def get(self, user, service_id: str) -> dict:
        user_id = validation.require_user(user)
        doc = await self.services.find_one({"_id": service_id, "user_id": user_id})
        if doc is None:
            raise service_not_found(service_id)
        return doc

    async def get_for_tiles(self, service_id: str) -> dict:
        """By id alone: the id is the capability that tile URLs carry."""
        doc = await self.services.find_one({"_id": service_id}) if service_id else None
        if doc is None:
            raise service_not_found(service_id)
        return doc

    async def list(self, user, page) -> tuple[list[dict], str]:
        user_id = validation.require_user(user)
        return await fetch_page(self.services, {"user_id": user_id}, page)

    async def update(self, request: store_pb2.UpdateServiceRequest) -> dict:
        user_id = validation.require_user(request.user)
        service_id = request.service_id
        changes = patch_changes(request)
        expected = request.expected_version

        def compute(doc: dict) -> dict:
            if expected and doc["version"] != expected:
                raise version_conflict("service", service_id)
            return {**changes, "updated": utc_now()}

        return await apply_changes(
            self.services, {"_id": service_id, "user_id": user_id}, compute,
            not_found=lambda: service_not_found(service_id), conflict=lambda: version_conflict("service", service_id),
        )

    async def delete(self, user, service_id: str) -> None:
        user_id = validation.require_user(user)
        result = await self.services.delete_one({"_id": service_id, "user_id": user_id})
        if result.deleted_count == 0:
            raise service_not_found(service_id)
