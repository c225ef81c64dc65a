"""A validation problem: an openEO error naming the node and argument it is about."""

from __future__ import annotations

from dataclasses import dataclass

from backend_common.errors import OpenEOError


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    node_id: str = ""
    parameter: str = ""
    http_status: int = 400


class ProblemError(OpenEOError):
    """Raised inside pure functions; carries the problem (node + argument)."""

    def __init__(self, problem: Problem):
        super().__init__(problem.code, problem.message, problem.http_status)
        self.problem = problem


def invalid(process_id: str, node_id: str, parameter: str, reason: str) -> Problem:
    return Problem(
        "ProcessParameterInvalid",
        f"The value passed for parameter '{parameter}' in process '{process_id}' (node '{node_id}') is invalid: {reason}",
        node_id,
        parameter,
    )
