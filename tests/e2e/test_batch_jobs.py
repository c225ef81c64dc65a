"""Issue 6 'done when': batch jobs with the openeo client, results in S3, logs, paging, PATCH,
cancel, delete; an executor killed mid-job; users isolated."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pytest
import requests
from openeo.rest import OpenEoApiError

from tests.e2e.worldcheck import bands_at, day_interval, first_acquisition, ndvi, pixel_lonlat, read_raster

BBOX = {"west": 14.00, "south": 46.00, "east": 14.02, "north": 46.015}
ACQ = first_acquisition(date(2024, 7, 1))


def ndvi_cube(connection, bbox=BBOX):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=bbox, temporal_extent=day_interval(ACQ), bands=["B04", "B08"])
    return cube.ndvi(nir="B08", red="B04").save_result("GTiff")


def s3_keys(stack, job_id: str) -> list[str]:
    client = stack.s3.client()
    listing = client.list_objects_v2(Bucket=stack.s3.bucket, Prefix=f"jobs/{job_id}/")
    return [obj["Key"] for obj in listing.get("Contents", [])]


def test_job_lifecycle_results_and_delete(stack, connection, tmp_path):
    job = ndvi_cube(connection).create_job(title="ndvi batch")
    assert job.status() == "created"
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    assert job.status() == "finished"
    results = job.get_results()
    files = results.download_files(tmp_path)
    tifs = [f for f in files if str(f).endswith(".tif")]
    assert tifs, files
    data, meta = read_raster(tifs[0])
    lon, lat = pixel_lonlat(meta)
    b = bands_at(ACQ, lon, lat, "B04", "B08")
    np.testing.assert_allclose(data[0], ndvi(b["B08"], b["B04"]), atol=1e-5)
    metadata = results.get_metadata()
    assert metadata["assets"] and all("href" in a and "type" in a for a in metadata["assets"].values())
    # a one-file result is one asset: the client's single-file download (execute_batch(outputfile)) works
    single = results.download_file(tmp_path / "single.tif")
    assert single.read_bytes() == tifs[0].read_bytes()
    logs = job.logs()
    assert logs and all("level" in entry and "message" in entry for entry in logs)
    assert s3_keys(stack, job.job_id)
    job.delete()
    assert s3_keys(stack, job.job_id) == []
    with pytest.raises(OpenEoApiError) as info:
        job.describe()
    assert info.value.http_status_code == 404


def test_listing_pages_and_patch(connection):
    ids = [ndvi_cube(connection).create_job(title=f"paging {i}").job_id for i in range(5)]
    headers = {"Authorization": f"Bearer {connection.auth.bearer}"}
    seen, url = [], connection.root_url.rstrip("/") + "/jobs?limit=2"
    while url:
        page = requests.get(url, headers=headers, timeout=10).json()
        assert len(page["jobs"]) <= 2
        seen += [j["id"] for j in page["jobs"]]
        url = next((link["href"] for link in page.get("links", []) if link.get("rel") == "next"), None)
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    resp = requests.patch(f"{connection.root_url.rstrip('/')}/jobs/{ids[0]}", json={"title": "renamed"}, headers=headers, timeout=10)
    assert resp.status_code == 204
    assert connection.job(ids[0]).describe()["title"] == "renamed"


def test_cancel_a_running_job(stack, connection):
    requests.post(stack.emulator_url + "/_emulator/faults", json={"delay_ms": 6000, "count": 4}, timeout=5)
    try:
        job = ndvi_cube(connection).create_job(title="to cancel")
        job.start()
        deadline = time.time() + 30
        while job.status() != "running" and time.time() < deadline:
            time.sleep(0.2)
        assert job.status() == "running"
        headers = {"Authorization": f"Bearer {connection.auth.bearer}"}
        resp = requests.patch(f"{connection.root_url.rstrip('/')}/jobs/{job.job_id}", json={"title": "x"}, headers=headers, timeout=10)
        assert resp.status_code == 400 and resp.json()["code"] == "JobLocked"
        job.stop()
        deadline = time.time() + 30
        while job.status() not in ("canceled", "finished", "error") and time.time() < deadline:
            time.sleep(0.3)
        assert job.status() == "canceled"
    finally:
        requests.delete(stack.emulator_url + "/_emulator/faults", timeout=5)


def test_killed_executor_job_finishes_elsewhere_once(stack, connection, tmp_path):
    requests.post(stack.emulator_url + "/_emulator/faults", json={"delay_ms": 20000, "count": 1}, timeout=5)
    job = ndvi_cube(connection).create_job(title="survives a crash")
    job.start()
    owner = None
    deadline = time.time() + 30
    while owner is None and time.time() < deadline:
        for name in ("executor", "executor-2"):
            if job.job_id in stack.children[name].log_text():
                owner = name
        time.sleep(0.2)
    assert owner, "no executor claimed the job"
    stack.kill_service(owner)
    try:
        job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
        assert job.status() == "finished"
        assets = job.get_results().get_metadata()["assets"]
        data_assets = [a for a in assets.values() if "data" in a.get("roles", ["data"])]
        assert len(data_assets) == 1
        survivor = "executor-2" if owner == "executor" else "executor"
        assert job.job_id in stack.children[survivor].log_text()
    finally:
        requests.delete(stack.emulator_url + "/_emulator/faults", timeout=5)
        stack.restart_service(owner)


def test_users_cannot_see_each_others_jobs_or_results(stack, connection, second_connection):
    job = ndvi_cube(connection).create_job(title="private")
    other = {"Authorization": f"Bearer {second_connection.auth.bearer}"}
    for path in ("", "/results", "/logs", "/estimate"):
        resp = requests.get(f"{stack.gateway_url}/jobs/{job.job_id}{path}", headers=other, timeout=10)
        assert resp.status_code == 404 and resp.json()["code"] == "JobNotFound", path
    assert job.job_id not in {j["id"] for j in second_connection.list_jobs()}
    resp = requests.delete(f"{stack.gateway_url}/jobs/{job.job_id}", headers=other, timeout=10)
    assert resp.status_code == 404
    assert job.describe()["id"] == job.job_id


def test_estimate(connection):
    job = ndvi_cube(connection).create_job()
    estimate = job.estimate()
    assert estimate["costs"] > 0 and estimate["size"] > 0 and estimate["duration"].startswith("P")
