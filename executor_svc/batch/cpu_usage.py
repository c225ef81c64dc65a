"""The `cpu` figure of a batch job's usage: CPU-seconds of the executor process over the run.

What it covers: user + system CPU time of the whole executor process (every thread: the event
loop, the CPU pool that evaluates, decodes and encodes, the Sentinel Hub client's decoding)
between the claim and the end of the run. The process's time is only the job's own when no other
batch job ran in it meanwhile, so a run that overlapped another one (several workers per executor)
reports no `cpu` at all rather than a share we cannot attribute. Synchronous requests and tiles
the same executor served during the run are included; an executor dedicated to batch jobs
(`EXECUTOR_WORKERS=1` and no synchronous traffic) gives the job's exact figure.

Peak memory is not reported: the process's peak RSS (`ru_maxrss`) is a lifetime maximum shared
by everything the executor ever ran, so it cannot be attributed to one job.
"""

from __future__ import annotations

import time


class CpuMeter:
    """One per executor process; `start()` per run returns the run's measurement."""

    def __init__(self, clock=time.process_time):
        self.clock = clock
        self._running: set[_Run] = set()

    def start(self) -> "_Run":
        run = _Run(self, self.clock())
        if self._running:
            run.shared = True
            for other in self._running:
                other.shared = True
        self._running.add(run)
        return run


class _Run:
    def __init__(self, meter: CpuMeter, started: float):
        self.meter = meter
        self.started = started
        self.shared = False

    def stop(self) -> dict | None:
        """The openEO usage entry {"value", "unit"}, or None when the run was not alone."""
        self.meter._running.discard(self)
        if self.shared:
            return None
        return {"value": round(self.meter.clock() - self.started, 3), "unit": "cpu-seconds"}


#: the executor process's meter, shared by its batch workers
PROCESS_CPU = CpuMeter()
