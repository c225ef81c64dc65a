"""Whether the database has been reachable long enough for expired job leases to mean anything.

While MongoDB (or this store) is unreachable, batch workers cannot renew their leases, so leases
expire although their workers are alive and still working. Handing such a job to another worker
the moment the database is back would throw that work away (and pay Sentinel Hub again). So an
expired lease is only taken over once the store has answered for `grace_seconds` without a
database failure: long enough for every live worker to renew (workers retry renewals every few
seconds while the store is down). The start of the store process counts as the end of an outage,
since workers could not reach a store that was not running.
"""

from __future__ import annotations

import time


class DatabaseAvailability:
    def __init__(self, grace_seconds: float, clock=time.monotonic):
        self.grace_seconds = grace_seconds
        self._clock = clock
        self._available_since = clock()
        self._failing = False

    def failed(self) -> None:
        self._failing = True

    def succeeded(self) -> None:
        if self._failing:
            self._failing = False
            self._available_since = self._clock()

    def expired_leases_claimable(self) -> bool:
        return not self._failing and self._clock() - self._available_since >= self.grace_seconds
