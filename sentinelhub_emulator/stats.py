"""Request counters exposed at /_emulator/stats."""
from __future__ import annotations

from collections import Counter, defaultdict


class Stats:
    def __init__(self):
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.pu_spent = 0.0
        self.pu_by_client: defaultdict[str, float] = defaultdict(float)
        self.tokens_issued = 0

    def record(self, endpoint: str, status: int) -> None:
        self.requests[endpoint] += 1
        self.statuses[f"{endpoint} {status}"] += 1

    def as_dict(self) -> dict:
        return {"requests": dict(self.requests), "statuses": dict(self.statuses),
                "pu_spent": self.pu_spent, "pu_by_client": dict(self.pu_by_client),
                "tokens_issued": self.tokens_issued}

    def reset(self) -> None:
        self.__init__()
