"""Catalog (STAC) search with full paging, and acquisition dates of a collection over an area."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timezone

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

log = get_logger(__name__)

# (search body) -> (parsed JSON response, processing units)
Post = Callable[[dict], Awaitable[tuple[dict, float]]]


async def iter_pages(post: Post, body: dict, *, page_limit: int = 100) -> AsyncIterator[tuple[list, float]]:
    """Yields (features, PU) per page, following `context.next` until it is absent or a page is empty."""
    page_body = dict(body)
    page_body["limit"] = max(1, min(int(page_body.get("limit") or page_limit), 100))
    page_body.pop("next", None)
    seen_tokens: set = set()
    while True:
        doc, pu = await post(page_body)
        features = doc.get("features") or []
        yield features, pu
        token = (doc.get("context") or {}).get("next")
        if token is None or not features or token in seen_tokens:
            return
        seen_tokens.add(token)
        page_body = {**page_body, "next": token}


def format_interval(time_range) -> str:
    """A STAC `datetime` interval from (start, end); None / '..' for open ends, dates → whole days."""
    if isinstance(time_range, str):
        return time_range
    start, end = time_range
    return f"{_instant(start, end=False)}/{_instant(end, end=True)}"


def _instant(value, *, end: bool) -> str:
    if value is None or value == "..":
        return ".."
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
    if isinstance(value, date):
        return f"{value.isoformat()}T23:59:59Z" if end else f"{value.isoformat()}T00:00:00Z"
    text = str(value)
    if len(text) == 10:  # bare YYYY-MM-DD
        return f"{text}T23:59:59Z" if end else f"{text}T00:00:00Z"
    return text


def utc_day(value: str) -> str:
    """YYYY-MM-DD (UTC) of an RFC 3339 datetime string."""
    text = value.strip()
    if len(text) == 10:
        return text
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc)
    return parsed.date().isoformat()


async def acquisition_dates(post: Post, body: dict, *, page_limit: int = 100) -> tuple[list[str], float]:
    """Sorted unique acquisition days: `distinct: "date"`, else deduped `properties.datetime`."""
    total_pu = 0.0
    days: set[str] = set()
    try:
        fell_back = False
        async for features, pu in iter_pages(post, {**body, "distinct": "date"}, page_limit=page_limit):
            total_pu += pu
            if any(not isinstance(f, str) for f in features):
                fell_back = True  # server ignored `distinct`: features are STAC items
                break
            days.update(utc_day(f) for f in features)
    except OpenEOError as err:
        if err.status != 400:
            raise
        log.info("sh_catalog_distinct_unsupported", error=err.message)
        fell_back = True
    if not fell_back:
        return sorted(days), total_pu
    days.clear()
    plain = {k: v for k, v in body.items() if k != "distinct"}
    plain["fields"] = {"include": ["properties.datetime"], "exclude": ["geometry", "assets", "links"]}
    async for features, pu in iter_pages(post, plain, page_limit=page_limit):
        total_pu += pu
        for feature in features:
            when = ((feature or {}).get("properties") or {}).get("datetime")
            if when:
                days.add(utc_day(when))
    return sorted(days), total_pu
