"""Date processes: the 1.2.0 proposal date_shift.

Dates are RFC 3339 strings: a date (`2020-01-31`) or a date-time with a zone (`Z` or a numeric
offset) and optional fractions of a second. Calendar arithmetic (months, years; a day past the
end of a month is rounded down to its last day) is python-dateutil's `relativedelta`."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from .registry import invalid, process, required

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_CLOCK_UNITS = {"millisecond": "milliseconds", "second": "seconds", "minute": "minutes", "hour": "hours"}
_CALENDAR_UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}


def parse_date(text: str) -> tuple[datetime, str | None, bool]:
    """(naive local date-time, zone suffix as written or None for a date, had fractions) (pure).
    A leap second (`:60`) counts as the next second's start."""
    text = text.strip()
    if (m := _DATE.fullmatch(text)) is not None:
        return datetime(*map(int, m.groups())), None, False
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"'{text}' is not an RFC 3339 date or date-time")
    year, month, day, hour, minute, second = map(int, m.groups()[:6])
    fraction, zone = m.group(7), m.group(8)
    leap = second == 60
    value = datetime(year, month, day, hour, minute, 59 if leap else second)
    if fraction:
        value += timedelta(microseconds=int(round(float(fraction) * 1_000_000)))
    if leap:
        value += timedelta(seconds=1)
    return value, ("Z" if zone in ("Z", "z") else zone), bool(fraction)


def format_date(value: datetime, zone: str | None) -> str:
    """RFC 3339 text: a date when `zone` is None, else date-time with milliseconds if any (pure)."""
    if zone is None:
        return value.date().isoformat()
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    millis = value.microsecond // 1000
    if millis:
        text += f".{millis:03d}"
    return text + zone


def shift_date(text: str, value: int, unit: str) -> str:
    """`text` shifted by `value` `unit`s, in the form and zone it was given in (pure)."""
    start, zone, _ = parse_date(text)
    if unit in _CLOCK_UNITS:
        shifted = start + timedelta(**{_CLOCK_UNITS[unit]: value})
    elif unit in _CALENDAR_UNITS:
        shifted = start + relativedelta(**{_CALENDAR_UNITS[unit]: value})
    else:
        raise ValueError(f"unknown unit '{unit}'")
    return format_date(shifted, zone)


@process("date_shift", experimental=True)
def date_shift(args: dict, ctx: Any) -> Any:
    text = required(args, "date", "date_shift")
    value = required(args, "value", "date_shift")
    unit = required(args, "unit", "date_shift")
    if text is None:
        return None
    if isinstance(text, (date, datetime)):
        text = text.isoformat()
    if not isinstance(value, int) or isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise invalid("date_shift", "value", f"{value!r} is not an integer")
    if unit not in _CLOCK_UNITS and unit not in _CALENDAR_UNITS:
        raise invalid("date_shift", "unit", f"{unit!r} is not one of {sorted({**_CLOCK_UNITS, **_CALENDAR_UNITS})}")
    try:
        return shift_date(str(text), value, unit)
    except (ValueError, OverflowError) as exc:
        raise invalid("date_shift", "date", str(exc)) from None
