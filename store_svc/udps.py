"""User-defined processes (openEO /process_graphs): unique per (user_id, process_graph_id)."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from backend_proto.v1 import store_pb2
from store_svc import validation
from store_svc.database import Database
from store_svc.errors import process_graph_not_found, version_conflict
from store_svc.ids import new_document_key
from store_svc.paging import fetch_page
from store_svc.timeutil import utc_now

MAX_PUT_ROUNDS = 4


class ProcessGraphStore:
    def __init__(self, database: Database):
        self.process_graphs = database.process_graphs

    async def put(self, request: store_pb2.PutProcessGraphRequest) -> dict:
        """Creates the user's process, or replaces its definition (keeping `created`)."""
        user_id = validation.require_user(request.user)
        process_graph_id = validation.process_graph_id(request.process_graph_id)
        process_json = validation.process_json(request.process_json)
        selector = {"user_id": user_id, "process_graph_id": process_graph_id}
        for _ in range(MAX_PUT_ROUNDS):
            now = utc_now()
            existing = await self.process_graphs.find_one(selector)
            if existing is None:
                doc = {
                    "_id": new_document_key(),
                    **selector,
                    "process_json": process_json,
                    "created": now,
                    "updated": now,
                    "version": 1,
                }
                try:
                    await self.process_graphs.insert_one(doc)
                    return doc
                except DuplicateKeyError:
                    continue  # created concurrently: replace it instead
            changes = {"process_json": process_json, "updated": now}
            result = await self.process_graphs.update_one(
                {"_id": existing["_id"], "version": existing["version"]}, {"$set": changes, "$inc": {"version": 1}}
            )
            if result.matched_count == 1:
                return {**existing, **changes, "version": existing["version"] + 1}
        raise version_conflict("user-defined process", process_graph_id)

    async def get(self, user, process_graph_id: str) -> dict:
        user_id = validation.require_user(user)
        doc = await self.process_graphs.find_one({"user_id": user_id, "process_graph_id": process_graph_id})
        if doc is None:
            raise process_graph_not_found(process_graph_id)
        return doc

    async def list(self, user, page) -> tuple[list[dict], str]:
        user_id = validation.require_user(user)
        return await fetch_page(self.process_graphs, {"user_id": user_id}, page)

    async def delete(self, user, process_graph_id: str) -> None:
        user_id = validation.require_user(user)
        result = await self.process_graphs.delete_one({"user_id": user_id, "process_graph_id": process_graph_id})
        if result.deleted_count == 0:
            raise process_graph_not_found(process_graph_id)
