"""Timestamps: stored as timezone-aware UTC datetimes truncated to milliseconds (BSON date
precision, so a stored value compares equal to the one we computed), shown as RFC 3339 UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def utc_now() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def rfc3339(value: datetime | None) -> str:
    """"2026-11-25T01:02:03Z" (fractions shown only when non-zero), "" for None."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """Parses an RFC 3339 timestamp; raises ValueError when it is not one."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_millis(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // timedelta(milliseconds=1)


def from_millis(millis: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


def after_seconds(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)
