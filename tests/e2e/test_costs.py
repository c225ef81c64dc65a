"""Issue 22 on the whole stack: the estimate of a job and of a synchronous request equals the
emulator's own PU accounting, a budget below the estimate is refused at start, plan "free" works
and its per-minute quota answers 429 with Retry-After."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.emulator_stats import reset_when_idle, stats

BBOX = {"west": 14.0013, "south": 46.0017, "east": 14.0613, "north": 46.0367}


def _graph(connection, days=("2024-06-01", "2024-06-21"), bbox=BBOX):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=bbox, temporal_extent=list(days),
                                      bands=["B04", "B08"])
    return {"process_graph": cube.ndvi(nir="B08", red="B04").save_result("GTiff").flat_graph()}


def _headers(connection) -> dict:
    return {"Authorization": f"Bearer {connection.auth.bearer}"}


def _wait_done(stack, connection, job_id, timeout=240) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = requests.get(f"{stack.gateway_url}/jobs/{job_id}", headers=_headers(connection), timeout=30).json()
        if job["status"] in ("finished", "error", "canceled"):
            return job
        time.sleep(0.5)
    raise AssertionError("the job did not end in time")


def test_job_and_sync_estimates_equal_the_emulator_accounting(stack, connection):
    url, headers = stack.gateway_url, _headers(connection)
    process = _graph(connection)
    job_id = requests.post(f"{url}/jobs", json={"process": process}, headers=headers,
                           timeout=30).headers["OpenEO-Identifier"]
    estimate = requests.get(f"{url}/jobs/{job_id}/estimate", headers=headers, timeout=60).json()["costs"]
    assert estimate > 0
    reset_when_idle(stack)
    assert requests.post(f"{url}/jobs/{job_id}/results", headers=headers, timeout=60).status_code == 202
    job = _wait_done(stack, connection, job_id)
    assert job["status"] == "finished"
    spent = stats(stack)["pu_spent"]
    assert estimate == pytest.approx(spent, rel=0.01)
    assert job["costs"] == pytest.approx(spent, rel=1e-6)
    # the same graph synchronously: the same requests, the same PUs
    reset_when_idle(stack)
    resp = requests.post(f"{url}/result", json={"process": process}, headers=headers, timeout=120)
    assert resp.status_code == 200, resp.text
    assert float(resp.headers["OpenEO-Costs"]) == pytest.approx(stats(stack)["pu_spent"], rel=1e-6)
    assert estimate == pytest.approx(float(resp.headers["OpenEO-Costs"]), rel=0.01)
    me = requests.get(f"{url}/me", headers=headers, timeout=30).json()
    assert me["spending"]["processing_units"] >= spent * 2 * 0.99


def test_job_with_budget_below_its_estimate_is_refused_at_start(stack, connection):
    url, headers = stack.gateway_url, _headers(connection)
    job_id = requests.post(f"{url}/jobs", json={"process": _graph(connection), "budget": 0.01}, headers=headers,
                           timeout=30).headers["OpenEO-Identifier"]
    resp = requests.post(f"{url}/jobs/{job_id}/results", headers=headers, timeout=60)
    body = resp.json()
    assert resp.status_code == 402 and body["code"] == "PaymentRequired" and "0.01" in body["message"]
    assert requests.get(f"{url}/jobs/{job_id}", headers=headers, timeout=30).json()["status"] == "created"


def test_plan_free_works_and_its_rate_limit_answers_429(stack, second_connection):
    url, headers = stack.gateway_url, _headers(second_connection)
    small = {"west": 14.0013, "south": 46.0017, "east": 14.0033, "north": 46.0037}
    process = _graph(second_connection, bbox=small)
    statuses, first = [], None
    for _ in range(25):
        resp = requests.post(f"{url}/result", json={"process": process, "plan": "free"}, headers=headers, timeout=60)
        statuses.append(resp.status_code)
        first = resp if first is None else first
        if resp.status_code == 429:
            break
    assert statuses[0] == 200, first.text
    assert statuses[-1] == 429, statuses  # 10 a minute on the free plan (the minute may turn once)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    body = resp.json()
    assert body["code"] == "QuotaExceeded" and "sync_requests_per_minute" in body["message"]
    resp = requests.post(f"{url}/result", json={"process": process, "plan": "gold"}, headers=headers, timeout=60)
    assert resp.status_code == 400 and resp.json()["code"] == "BillingPlanInvalid"
