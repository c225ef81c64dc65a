"""openEO process errors.

Every failure raised by a process implementation or by the graph evaluator is a
:class:`ProcessError` carrying an openEO error ``code`` (e.g. ``ProcessUnsupported``,
``ProcessParameterInvalid``, ``ArrayElementNotAvailable``, ``DimensionNotAvailable``,
``LabelNotAvailable``), a human readable ``message`` and, once it passed through the
evaluator, the id of the process-graph node that failed (``node_id``).
"""

from __future__ import annotations


class ProcessError(Exception):
    def __init__(self, code: str, message: str, node_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.node_id = node_id

    def __str__(self) -> str:
        where = f" (node {self.node_id!r})" if self.node_id else ""
        return f"[{self.code}]{where} {self.message}"
