"""HTTP range requests and validators of result downloads (RFC 9110 §13, §14), without I/O.

- `parse_range(header)`: the `Range` header as `ByteRange`s; None when there is none or it is to
  be ignored: another unit than `bytes`, a syntax error (`bytes=5-3`, `bytes=x-`, `bytes=`) or
  more than `MAX_RANGES` ranges. An ignored `Range` is answered 200 with the whole file, as
  RFC 9110 §14.2 allows.
- `span(ranges, size)`: the bytes to send, `(first, last)` inclusive, or None when no range is
  satisfiable (416 with `Content-Range: bytes */size`). A suffix longer than the file means the
  whole file; a `last` past the end is cut to the end. **Several ranges are answered as one
  range** covering them all (from the first byte asked to the last), a single-part 206 with its
  `Content-Range`: RFC 9110 §14.2/§15.3.7 lets a server coalesce ranges, and every range client
  (GDAL, browsers, rasterio) reads a single-part answer. No `multipart/byteranges`.
- `not_modified(...)`: `If-None-Match` (weak comparison, `*`), else `If-Modified-Since`: 304.
- `if_range_holds(...)`: `If-Range` with an entity tag (strong comparison) or an HTTP date (equal
  to `Last-Modified`); when it does not hold the whole file is sent with 200.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

#: More ranges than this in one header: the header is ignored (RFC 9110 §14.2 allows it).
MAX_RANGES = 100
#: Byte positions are capped here (no object is that large): keeps them within int64 for gRPC.
_POSITION_CAP = 2**62

_RANGE_HEADER = re.compile(r"^\s*bytes\s*=(.*)$", re.IGNORECASE | re.DOTALL)
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
_ENTITY_TAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


@dataclass(frozen=True)
class ByteRange:
    """`bytes=first-last` (`last` None: to the end) or, with `first` None, `bytes=-suffix`."""

    first: int | None
    last: int | None = None
    suffix: int = 0

    def resolve(self, size: int) -> tuple[int, int] | None:
        """(first, last) inclusive within an object of `size` bytes; None when unsatisfiable."""
        if self.first is None:
            if self.suffix <= 0 or size <= 0:
                return None
            return max(0, size - self.suffix), size - 1
        if self.first >= size:
            return None
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return self.first, last


def parse_range(header: str | None) -> list[ByteRange] | None:
    if header is None:
        return None
    match = _RANGE_HEADER.match(header)
    if match is None:
        return None  # another range unit: ignored
    ranges: list[ByteRange] = []
    for part in match.group(1).split(","):
        if not part.strip():
            continue  # empty list elements are allowed
        spec = _RANGE_SPEC.match(part)
        if spec is None:
            return None
        first_text, last_text = spec.groups()
        if not first_text and not last_text:
            return None
        if not first_text:
            ranges.append(ByteRange(first=None, suffix=min(int(last_text), _POSITION_CAP)))
            continue
        first = min(int(first_text), _POSITION_CAP)
        last = min(int(last_text), _POSITION_CAP) if last_text else None
        if last is not None and last < first:
            return None
        ranges.append(ByteRange(first=first, last=last))
    if not ranges or len(ranges) > MAX_RANGES:
        return None
    return ranges


def span(ranges: list[ByteRange], size: int) -> tuple[int, int] | None:
    resolved = [r for r in (byte_range.resolve(size) for byte_range in ranges) if r is not None]
    if not resolved:
        return None
    return min(first for first, _ in resolved), max(last for _, last in resolved)


def content_range(first: int, last: int, size: int) -> str:
    return f"bytes {first}-{last}/{size}"


def unsatisfiable_range(size: int) -> str:
    return f"bytes */{size}"


# ---- validators ----


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque tag) of an `If-None-Match`/`If-Match` list; None for `*`."""
    if header.strip() == "*":
        return None
    tags = []
    position = 0
    while position < len(header):
        match = _ENTITY_TAG.match(header, position)
        if match is None:
            break  # the rest is malformed: ignore it
        tags.append((bool(match.group(1)), match.group(2)))
        position = match.end()
    return tags


def _opaque(etag: str) -> tuple[bool, str]:
    return (True, etag[2:]) if etag.startswith("W/") else (False, etag)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def parse_http_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def parse_rfc3339(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str,
                 last_modified: datetime | None) -> bool:
    """True when a GET/HEAD is answered 304 (RFC 9110 §13.1.2, §13.1.3, §13.2.2)."""
    if if_none_match is not None:
        tags = _entity_tags(if_none_match)
        if tags is None:
            return bool(etag)  # `*`: any current representation
        current = _opaque(etag)[1]
        return bool(etag) and any(tag == current for _, tag in tags)
    if if_modified_since is not None and last_modified is not None:
        since = parse_http_date(if_modified_since)
        return since is not None and last_modified.replace(microsecond=0) <= since
    return False


def if_range_holds(if_range: str, etag: str, last_modified: datetime | None) -> bool:
    """Whether the range applies (RFC 9110 §13.1.5): a strong match of the entity tag, or the
    date equal to `Last-Modified`. A weak tag never matches."""
    value = if_range.strip()
    if value.startswith('"') or value.startswith("W/"):
        weak, tag = _opaque(value)
        current_weak, current = _opaque(etag)
        return not weak and not current_weak and bool(etag) and tag == current
    moment = parse_http_date(value)
    return moment is not None and last_modified is not None and last_modified.replace(microsecond=0) == moment
