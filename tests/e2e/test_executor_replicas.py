"""Issue 8: several executor processes against one store share the batch queue; no job runs twice."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date

from tests.e2e.worldcheck import day_interval, first_acquisition

ACQ = first_acquisition(date(2024, 9, 1))


def claims(stack) -> Counter:
    """(job id, executor) pairs of every `job_claimed` log line of every executor process."""
    seen = Counter()
    for name, child in stack.children.items():
        if not name.startswith("executor"):
            continue
        for line in child.log_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "job_claimed":
                seen[(entry["job_id"], name)] += 1
    return seen


def test_jobs_spread_over_executors_and_run_once(stack, connection):
    assert len([n for n in stack.children if n.startswith("executor")]) == 2
    jobs = []
    for i in range(8):
        cube = connection.load_collection(
            "SENTINEL2_L2A",
            spatial_extent={"west": 14.0 + i * 0.01, "south": 46.0, "east": 14.008 + i * 0.01, "north": 46.008},
            temporal_extent=day_interval(ACQ),
            bands=["B04", "B08"],
        )
        job = cube.ndvi(nir="B08", red="B04").create_job(title=f"spread {i}")
        job.start()
        jobs.append(job)
    deadline = time.time() + 180
    while time.time() < deadline and any(j.status() not in ("finished", "error", "canceled") for j in jobs):
        time.sleep(0.5)
    assert [j.status() for j in jobs] == ["finished"] * len(jobs)
    ids = {j.job_id for j in jobs}
    mine = {key: n for key, n in claims(stack).items() if key[0] in ids}
    per_job = Counter(job_id for job_id, _ in mine)
    assert all(per_job[job_id] == 1 for job_id in ids), per_job
    executors_used = {executor for _, executor in mine}
    assert executors_used == {"executor", "executor-2"}
