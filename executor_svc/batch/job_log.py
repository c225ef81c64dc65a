"""A batch job's log lines, buffered in the worker and written to the store in order.

`add()` never waits for the store: lines go to a buffer that a background task appends in
batches. Each batch keeps its `append_id` through every retry, so a batch whose reply was lost is
stored once (store_svc/logs.py). While the store (or MongoDB behind it) is unreachable the batch is
retried with backoff and later lines wait behind it: nothing is dropped and the order stays.
`flush()` waits until everything is stored (the worker calls it before writing the job's final
state). Only a refusal that retrying cannot fix (the job was deleted) discards lines, and the
service log says how many.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone

from backend_common.logging import get_logger
from backend_proto.v1 import store_pb2

from .retry import is_transient

log = get_logger(__name__)

MAX_BATCH = 200


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JobLog:
    def __init__(self, store, job_id: str, *, base_delay: float = 0.5, max_delay: float = 5.0,
                 scrub: Callable[[str], str] = lambda text: text):
        self.store = store
        self.job_id = job_id
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.scrub = scrub
        self._lines: deque[store_pb2.LogEntry] = deque()
        self._batch: tuple[str, list[store_pb2.LogEntry]] | None = None  # in flight, with its key
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None
        self.discarded = 0

    def add(self, level: str, message: str, data: dict | None = None, code: str = "") -> None:
        self._lines.append(store_pb2.LogEntry(level=level, message=self.scrub(message), time=_now(),
                                              data_json=json.dumps(data) if data else "", code=code))
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"job-log-{self.job_id}")

    @property
    def pending(self) -> int:
        return len(self._lines) + (len(self._batch[1]) if self._batch else 0)

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._batch is not None or self._lines:
                if self._batch is None:
                    entries = [self._lines.popleft() for _ in range(min(MAX_BATCH, len(self._lines)))]
                    self._batch = (uuid.uuid4().hex, entries)
                key, entries = self._batch
                try:
                    await self.store.AppendJobLogs(
                        store_pb2.AppendJobLogsRequest(job_id=self.job_id, entries=entries, append_id=key))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - classified below
                    if not is_transient(exc):  # e.g. the job was deleted: retrying cannot help
                        self.discarded += self.pending
                        log.warning("job_log_lines_discarded", job_id=self.job_id, lines=self.pending,
                                    error=str(exc)[:200])
                        self._batch = None
                        self._lines.clear()
                        break
                    failures += 1
                    if failures == 1 or failures % 10 == 0:
                        log.warning("job_log_append_retrying", job_id=self.job_id, waiting=self.pending,
                                    failures=failures, error=str(exc)[:200])
                    await asyncio.sleep(min(self.max_delay, self.base_delay * 2 ** min(failures - 1, 10)))
                    continue
                if failures:
                    log.info("job_log_append_recovered", job_id=self.job_id, failures=failures)
                failures = 0
                self._batch = None
            if not self._lines and self._batch is None:
                self._idle.set()

    async def flush(self, timeout: float) -> bool:
        """Waits until every line added so far is stored; False when `timeout` passed first."""
        if self._task is None:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self, timeout: float) -> None:
        """Flushes, then stops the background task. Lines still unstored after `timeout` are
        reported in the service log (with their text: they are the user's job log)."""
        started = time.monotonic()
        stored = await self.flush(timeout)
        if not stored:
            left = [entry.message for entry in self._batch[1]] if self._batch else []
            left += [entry.message for entry in self._lines]
            log.error("job_log_lines_not_stored", job_id=self.job_id, lines=len(left), messages=left[:50],
                      waited_s=round(time.monotonic() - started, 1))
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
