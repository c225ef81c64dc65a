"""The `cpu` usage of a batch job: the process's CPU time over a run that ran alone."""

from __future__ import annotations

import time

from executor_svc.batch.cpu_usage import CpuMeter


class Clock:
    def __init__(self):
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def test_a_run_alone_reports_the_cpu_time_between_start_and_stop():
    clock = Clock()
    meter = CpuMeter(clock)
    run = meter.start()
    clock.now += 2.5
    assert run.stop() == {"value": 2.5, "unit": "cpu-seconds"}
    later = meter.start()  # the first run's end leaves the next one alone
    clock.now += 1.0
    assert later.stop() == {"value": 1.0, "unit": "cpu-seconds"}


def test_overlapping_runs_report_no_cpu_as_it_cannot_be_attributed():
    clock = Clock()
    meter = CpuMeter(clock)
    first = meter.start()
    clock.now += 1.0
    second = meter.start()
    clock.now += 1.0
    assert first.stop() is None and second.stop() is None
    assert first.stop() is None  # stopping twice is harmless


def test_the_process_clock_counts_work_on_other_threads():
    from concurrent.futures import ThreadPoolExecutor

    def burn(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    run = CpuMeter().start()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(burn, [0.1, 0.1]))
    assert run.stop()["value"] >= 0.2
