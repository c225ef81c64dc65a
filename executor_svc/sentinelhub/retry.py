"""Retry timing: exponential backoff with jitter and Sentinel Hub's Retry-After (milliseconds)."""

from __future__ import annotations

import random
from collections.abc import Mapping


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry number `attempt + 1`: half of base·2^attempt fixed, half random ("equal jitter")."""
    ceiling = min(cap, base * (2**attempt))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after_seconds(headers: Mapping[str, str], cap: float) -> float | None:
    """Sentinel Hub's `Retry-After` is in MILLISECONDS (e.g. `retry-after: 3398`); None when absent."""
    raw = headers.get("Retry-After") if headers else None
    if raw is None:
        return None
    try:
        millis = float(raw)
    except ValueError:
        return None
    if millis < 0:
        return None
    return min(cap, millis / 1000.0)
