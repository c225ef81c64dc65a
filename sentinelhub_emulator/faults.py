"""Fault injection for tests: the next N API calls fail, are delayed, or are throttled."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    status: int | None = None
    delay_ms: int = 0
    retry_after_ms: int | None = None
    count: int = 1
    scope: str = "api"  # "api" (/api/*), "token" (token endpoints) or "all"
    message: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> "Fault":
        if not isinstance(data, dict):
            raise ValueError("fault must be a JSON object")
        status = data.get("status")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        delay = int(data.get("delay_ms", 0))
        count = int(data.get("count", 1))
        scope = data.get("scope", "api")
        if scope not in ("api", "token", "all"):
            raise ValueError("scope must be api, token or all")
        if status is None and delay <= 0:
            raise ValueError("a fault needs a status and/or delay_ms")
        if count < 1:
            raise ValueError("count must be >= 1")
        ra = data.get("retry_after_ms")
        return cls(status, delay, int(ra) if ra is not None else None, count, scope, data.get("message"))


class FaultInjector:
    def __init__(self):
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, kind: str) -> Fault | None:
        """Consume one use of the first fault that applies to a call of ``kind`` ("api" or "token")."""
        for f in self.faults:
            if f.scope in (kind, "all"):
                f.count -= 1
                if f.count <= 0:
                    self.faults.remove(f)
                return f
        return None

    def describe(self) -> list[dict]:
        return [dict(vars(f)) for f in self.faults]
