"""Listing pages: newest first, ordered by (created desc, _id desc), which is a total and stable
order (documents never change `created`). The opaque `next_token` encodes the (created, _id)
of the last item of a page; the next page holds the items strictly after it in that order, so
items created or deleted meanwhile never shift a page (no duplicates, no skips of old items)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from store_svc.errors import bad_request
from store_svc.timeutil import from_millis, to_millis

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SORT = [("created", -1), ("_id", -1)]


@dataclass(frozen=True)
class Cursor:
    created_millis: int
    key: str


def clamp_limit(limit: int, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """0 or negative → default; above the maximum → the maximum."""
    if limit <= 0:
        return default
    return min(limit, maximum)


def encode_token(doc: dict) -> str:
    raw = json.dumps({"c": to_millis(doc["created"]), "k": doc["_id"]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> Cursor | None:
    """None for "" (first page); a malformed token is a 400 error."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        cursor = Cursor(int(data["c"]), str(data["k"]))
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise bad_request("PageTokenInvalid", "The paging token is invalid.") from None
    return cursor


def page_filter(base: dict, cursor: Cursor | None) -> dict:
    """`base` narrowed to the documents after `cursor` in listing order."""
    if cursor is None:
        return dict(base)
    created = from_millis(cursor.created_millis)
    return {
        **base,
        "$or": [
            {"created": {"$lt": created}},
            {"created": created, "_id": {"$lt": cursor.key}},
        ],
    }


def split_page(docs: list[dict], limit: int) -> tuple[list[dict], str]:
    """Given up to limit+1 documents, returns the page and the token for the next one."""
    if len(docs) > limit:
        page = docs[:limit]
        return page, encode_token(page[-1])
    return docs, ""


async def fetch_page(collection, base: dict, page, *, projection: dict | None = None) -> tuple[list[dict], str]:
    """Reads one page of `collection` matching `base` for a protobuf `Page` (limit, next_token)."""
    limit = clamp_limit(page.limit if page is not None else 0)
    cursor = decode_token(page.next_token if page is not None else "")
    query = collection.find(page_filter(base, cursor), projection).sort(SORT).limit(limit + 1)
    docs = await query.to_list(length=limit + 1)
    return split_page(docs, limit)
