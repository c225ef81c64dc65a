"""Optimistic concurrency: read a document, compute its changes, write them only if nobody wrote
in between (filter on `version`), else read again and recompute. Every write bumps `version`."""

from __future__ import annotations

from collections.abc import Callable

from backend_common.errors import OpenEOError

MAX_ROUNDS = 16


async def apply_changes(
    collection,
    selector: dict,
    compute: Callable[[dict], dict | None],
    *,
    not_found: Callable[[], OpenEOError],
    conflict: Callable[[], OpenEOError],
) -> dict:
    """Applies `compute(doc)` (the `$set` changes, or None for a no-op; it may raise) to the one
    document matching `selector`. Returns the document as written (or as read, for a no-op)."""
    for _ in range(MAX_ROUNDS):
        doc = await collection.find_one(selector)
        if doc is None:
            raise not_found()
        changes = compute(doc)
        if changes is None:
            return doc
        result = await collection.update_one(
            {**selector, "_id": doc["_id"], "version": doc["version"]},
            {"$set": changes, "$inc": {"version": 1}},
        )
        if result.matched_count == 1:
            return {**doc, **changes, "version": doc["version"] + 1}
    raise conflict()
