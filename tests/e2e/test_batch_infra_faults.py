"""Issue 6 fault tests: the MongoDB-compatible server or S3 restarts while a job runs. The job
finishes, or fails with a clear logged reason; it never stays `running`."""

from __future__ import annotations

import time
from datetime import date

import pytest
import requests

from tests.e2e.worldcheck import day_interval, first_acquisition

ACQ = first_acquisition(date(2024, 10, 1))


def start_slow_job(stack, connection, title: str):
    requests.post(stack.emulator_url + "/_emulator/faults", json={"delay_ms": 4000, "count": 1}, timeout=5)
    cube = connection.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 14.2, "south": 46.2, "east": 14.21, "north": 46.21},
        temporal_extent=day_interval(ACQ),
        bands=["B04", "B08"],
    )
    job = cube.ndvi(nir="B08", red="B04").create_job(title=title)
    job.start()
    deadline = time.time() + 30
    while job.status() != "running" and time.time() < deadline:
        time.sleep(0.2)
    assert job.status() == "running"
    return job


def wait_final(job, timeout: float = 120) -> str:
    deadline = time.time() + timeout
    status = job.status()
    while status not in ("finished", "error", "canceled") and time.time() < deadline:
        time.sleep(1)
        try:
            status = job.status()
        except Exception:  # noqa: BLE001 - the store may still be coming back
            status = "unknown"
    return status


@pytest.mark.parametrize("part", ["mongo", "s3"])
def test_infrastructure_restart_during_a_job(stack, connection, part):
    job = start_slow_job(stack, connection, f"survives a {part} restart")
    infra = stack.mongo if part == "mongo" else stack.s3
    try:
        infra.stop()
        time.sleep(3)
    finally:
        infra.restart()
    status = wait_final(job)
    assert status in ("finished", "error"), status
    if status == "error":
        messages = [entry["message"] for entry in job.logs(level="error")]
        assert messages and all(m.strip() for m in messages)
    else:
        assert job.get_results().get_metadata()["assets"]
