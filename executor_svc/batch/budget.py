"""A job's budget while it runs (pure): the job stops before a chunk that would take its spending
past the budget; the chunks done stay as partial results."""

from __future__ import annotations

STOP_CODE = "PaymentRequired"


def budget_stop(budget: float, spent: float, largest_chunk: float, done: int, total: int) -> str | None:
    """The reason to stop before chunk `done` (of `total`), None to go on. The next chunk is
    expected to cost as much as the costliest so far (chunks are equal parts of one grid)."""
    if budget <= 0 or done >= total:
        return None
    if spent + largest_chunk <= budget:
        return None
    return (f"The job reached its budget: it spent {spent:.6g} processing units of its budget of {budget:.6g}, "
            f"and the next part would cost about {largest_chunk:.6g} more. It stopped after {done} of {total} "
            "parts; their results are kept as partial results (GET /jobs/{id}/results?partial=true). "
            "Raise the budget and restart the job for the whole area.")
