"""Per-client sliding-window rate limits: requests per minute and processing units per minute."""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, requests_per_minute: int | None, pu_per_minute: float | None, clock=time.monotonic):
        self.rpm = requests_per_minute
        self.pupm = pu_per_minute
        self.clock = clock
        self._requests: dict[str, deque] = defaultdict(deque)
        self._pu: dict[str, deque] = defaultdict(deque)

    @property
    def enabled(self) -> bool:
        return bool(self.rpm) or bool(self.pupm)

    def _trim(self, q: deque, now: float) -> None:
        while q and q[0][0] <= now - WINDOW_S:
            q.popleft()

    def check(self, client: str) -> int | None:
        """Register one request; return None if allowed, else the wait in milliseconds."""
        now = self.clock()
        waits = []
        rq = self._requests[client]
        self._trim(rq, now)
        if self.rpm and len(rq) >= self.rpm:
            waits.append(rq[len(rq) - self.rpm][0] + WINDOW_S - now)
        pq = self._pu[client]
        self._trim(pq, now)
        if self.pupm and sum(p for _, p in pq) >= self.pupm:
            total = sum(p for _, p in pq)
            acc = 0.0
            for t, p in pq:  # wait until enough PU leave the window
                acc += p
                if total - acc < self.pupm:
                    waits.append(t + WINDOW_S - now)
                    break
        if waits:
            return max(1, int(math.ceil(max(waits) * 1000)))
        if self.rpm:
            rq.append((now, 1))
        return None

    def spend(self, client: str, pu: float) -> None:
        if self.pupm:
            self._pu[client].append((self.clock(), pu))
