"""A processing-unit limit shared by the Process API requests of one run (a batch job's budget).

Each request is let through only while the PUs spent, plus what the requests already under way
and this one are expected to cost (each as much as the costliest so far), stay within the limit.
Until the first answer tells what a request costs, one request runs at a time. The client calls
`before_request` before sending and `spent_on` / `abandoned` after (`client.process_raster`)."""

from __future__ import annotations

import asyncio

from backend_common.errors import OpenEOError

STOP_CODE = "PaymentRequired"


class BudgetReached(OpenEOError):
    """The next request would take the run past its budget (`processing_units`: what the run spent)."""

    def __init__(self, message: str, spent: float):
        super().__init__(STOP_CODE, message, 402)
        self.processing_units = spent


class SpendingLimit:
    """`budget` 0: no limit, the requests' PUs are only counted (a failed run's spending)."""

    def __init__(self, budget: float):
        self.budget = float(budget)
        self.spent = 0.0
        self.largest = 0.0
        self.answered = 0
        self.pending = 0
        self._first = asyncio.Event()

    async def before_request(self) -> None:
        while self.budget > 0 and self.answered == 0 and self.pending > 0:
            await self._first.wait()  # nothing known yet about a request's cost
        expected = self.spent + self.largest * (self.pending + 1)
        if self.budget > 0 and self.answered and expected > self.budget:
            raise BudgetReached(
                f"The job reached its budget: it spent {self.spent:.6g} processing units of its budget of "
                f"{self.budget:.6g}, and its next Sentinel Hub request would cost about {self.largest:.6g} more, "
                "so it stopped before sending it. Raise the budget and restart the job.", self.spent)
        self.pending += 1

    def spent_on(self, processing_units: float) -> None:
        self.pending -= 1
        self.answered += 1
        self.spent += processing_units
        self.largest = max(self.largest, processing_units)
        self._first.set()

    def abandoned(self) -> None:
        """A request that failed or was cancelled (Sentinel Hub charges no PUs for it)."""
        self.pending -= 1
        if self.answered == 0:  # the next waiting request tries; the others wait for it
            woken, self._first = self._first, asyncio.Event()
            woken.set()
