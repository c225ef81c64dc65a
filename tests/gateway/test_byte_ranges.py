"""Range header parsing and validators (gateway/byte_ranges.py), edge cases of RFC 9110."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gateway.byte_ranges import (
    ByteRange,
    http_date,
    if_range_holds,
    not_modified,
    parse_range,
    span,
)

SIZE = 1000


@pytest.mark.parametrize("header, expected", [
    ("bytes=0-499", [ByteRange(0, 499)]),
    ("bytes=500-", [ByteRange(500, None)]),
    ("bytes=-500", [ByteRange(None, suffix=500)]),
    ("BYTES = 1 - 2", [ByteRange(1, 2)]),
    ("bytes=0-0,-1", [ByteRange(0, 0), ByteRange(None, suffix=1)]),
    ("bytes=0-1,,5-6", [ByteRange(0, 1), ByteRange(5, 6)]),  # empty list elements are allowed
    ("bytes=-0", [ByteRange(None, suffix=0)]),
    ("bytes=99999999999999999999999-", [ByteRange(2**62, None)]),  # capped within int64
])
def test_parse(header, expected):
    assert parse_range(header) == expected


@pytest.mark.parametrize("header", [
    None, "", "bytes=", "bytes=-", "bytes=5-3", "bytes=a-b", "bytes=1-2-3", "bytes=0-1;2-3",
    "items=0-5", "bytes 0-5", "bytes=0x10-", "bytes=,", "bytes=1-2,x",
    "bytes=" + ",".join(f"{i}-{i}" for i in range(101)),  # too many ranges
])
def test_ignored_headers(header):
    assert parse_range(header) is None


@pytest.mark.parametrize("header, expected", [
    ("bytes=0-499", (0, 499)),
    ("bytes=0-0", (0, 0)),
    ("bytes=999-", (999, 999)),
    ("bytes=500-5000", (500, 999)),       # last past the end: cut to the end
    ("bytes=-500", (500, 999)),
    ("bytes=-5000", (0, 999)),            # suffix longer than the file: all of it
    ("bytes=1000-", None),                # starts at the end
    ("bytes=1000-2000", None),            # past the end
    ("bytes=-0", None),                   # empty suffix
    ("bytes=10-19,500-509", (10, 509)),   # several ranges: one span covering them
    ("bytes=-10,0-9", (0, 999)),
    ("bytes=5000-6000,-2", (998, 999)),   # the unsatisfiable one is dropped
    ("bytes=5000-6000,2000-", None),
])
def test_span(header, expected):
    assert span(parse_range(header), SIZE) == expected


def test_nothing_is_satisfiable_in_an_empty_file():
    for header in ("bytes=0-", "bytes=-5", "bytes=0-0"):
        assert span(parse_range(header), 0) is None


MODIFIED = datetime(2024, 7, 1, 12, 30, tzinfo=timezone.utc)
ETAG = '"v1-abc"'


def test_if_none_match():
    assert not_modified(ETAG, None, ETAG, MODIFIED)
    assert not_modified('"x", "v1-abc"', None, ETAG, MODIFIED)
    assert not_modified('W/"v1-abc"', None, ETAG, MODIFIED)   # weak comparison
    assert not_modified("*", None, ETAG, MODIFIED)
    assert not not_modified('"v0"', None, ETAG, MODIFIED)
    assert not not_modified("garbage", None, ETAG, MODIFIED)
    # If-None-Match wins over If-Modified-Since
    assert not not_modified('"v0"', http_date(MODIFIED), ETAG, MODIFIED)


def test_if_modified_since():
    assert http_date(MODIFIED) == "Mon, 01 Jul 2024 12:30:00 GMT"
    assert not_modified(None, "Mon, 01 Jul 2024 12:30:00 GMT", ETAG, MODIFIED)
    assert not_modified(None, "Tue, 02 Jul 2024 00:00:00 GMT", ETAG, MODIFIED)
    assert not not_modified(None, "Mon, 01 Jul 2024 12:29:59 GMT", ETAG, MODIFIED)
    assert not not_modified(None, "not a date", ETAG, MODIFIED)
    assert not not_modified(None, None, ETAG, MODIFIED)


def test_if_range():
    assert if_range_holds(ETAG, ETAG, MODIFIED)
    assert not if_range_holds('"v0"', ETAG, MODIFIED)
    assert not if_range_holds('W/"v1-abc"', ETAG, MODIFIED)   # strong comparison only
    assert if_range_holds("Mon, 01 Jul 2024 12:30:00 GMT", ETAG, MODIFIED)
    assert not if_range_holds("Mon, 01 Jul 2024 12:31:00 GMT", ETAG, MODIFIED)
    assert not if_range_holds("yesterday", ETAG, MODIFIED)
