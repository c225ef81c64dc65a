"""Billing plans (operator file, `GET /`, `plan` honoured), budgets refused at start, quotas
answered with 429 + Retry-After naming the limit, spending in `/me`."""

from __future__ import annotations

import json

import pytest

from backend_proto.v1 import store_pb2
from gateway.billing import DEFAULT_FILE, load_billing_plans, parse_billing_plans
from tests.gateway.conftest import PROCESS


def test_default_plans_file_has_free_and_standard():
    plans = load_billing_plans(None)
    assert [p.name for p in plans.plans] == ["free", "standard"] and plans.default_plan == "standard"
    free = plans.get("FREE")
    assert not free.paid and free.limits.sync_requests_in_flight == 1 and free.limits.processing_units_per_month > 0
    assert plans.get("gone").name == "standard"  # a stored plan the operator removed: the default


@pytest.mark.parametrize("doc, problem", [
    ({"plans": []}, "non-empty"),
    ({"plans": [{"name": "a", "limits": {"bogus": 1}}]}, "unknown limits"),
    ({"plans": [{"name": "a", "limits": {"concurrent_jobs": -1}}]}, ">= 0"),
    ({"plans": [{"name": "a"}], "default_plan": "b"}, "default plan"),
    ({"plans": [{"name": "a"}, {"name": "A"}]}, "unique"),
])
def test_invalid_plans_files_are_refused(doc, problem):
    with pytest.raises(ValueError, match=problem):
        parse_billing_plans(doc)


async def test_capabilities_list_the_operators_plans(make_client, tmp_path):
    path = tmp_path / "plans.json"
    doc = json.loads(DEFAULT_FILE.read_text())
    doc["plans"].append({"name": "research", "description": "For research", "paid": False})
    path.write_text(json.dumps(doc))
    client = await make_client(billing_plans_file=str(path))
    billing = (await (await client.get("/")).json())["billing"]
    assert billing["default_plan"] == "standard" and billing["currency"] == "PU"
    assert [p["name"] for p in billing["plans"]] == ["free", "standard", "research"]
    assert billing["plans"][0]["limits"]["concurrent_jobs"] == 1


async def test_plan_free_is_honoured_and_unknown_plans_refused(client, auth, fakes):
    resp = await client.post("/result", json={"process": PROCESS, "plan": "free"}, headers=auth)
    assert resp.status == 200 and resp.headers["OpenEO-Costs"] == "2.5"
    assert await resp.read() == b"".join(fakes.executor.result_chunks)
    _, admission = [c for c in fakes.store.calls if c[0] == "AdmitSyncRequest"][-1]
    assert (admission.in_flight, admission.requests_per_minute, admission.processing_units_per_month) == (1, 10, 300)
    assert not fakes.store.slots_held  # freed before the client had the whole answer
    assert fakes.store.spent[admission.user_id] == 2.5
    resp = await client.post("/result", json={"process": PROCESS, "plan": "gold"}, headers=auth)
    assert resp.status == 400 and (await resp.json())["code"] == "BillingPlanInvalid"
    resp = await client.post("/jobs", json={"process": PROCESS, "plan": "free"}, headers=auth)
    job = await (await client.get(f"/jobs/{resp.headers['OpenEO-Identifier']}", headers=auth)).json()
    assert job["plan"] == "free"


@pytest.mark.parametrize("limit, value, retry, expected_retry", [
    ("sync_requests_per_minute", 10, 14.2, "15"),
    ("sync_requests_in_flight", 1, 1.0, "1"),
    ("processing_units_per_month", 300, 86400.5, "86401"),
])
async def test_sync_quota_answers_429_with_retry_after(client, auth, fakes, limit, value, retry, expected_retry):
    fakes.store.refusal = store_pb2.SyncAdmission(admitted=False, limit=limit, limit_value=value,
                                                  retry_after_seconds=retry, spent_this_month=301)
    resp = await client.post("/result", json={"process": PROCESS, "plan": "free"}, headers=auth)
    assert resp.status == 429 and resp.headers["Retry-After"] == expected_retry
    body = await resp.json()
    assert body["code"] == "QuotaExceeded" and limit in body["message"] and "'free'" in body["message"]
    assert not [c for c in fakes.executor.calls if c[0] == "Execute"]


async def test_largest_sync_request_and_sync_budget(client, auth, fakes):
    fakes.executor.estimate = 11.0  # the free plan allows 10 PU per synchronous request
    resp = await client.post("/result", json={"process": PROCESS, "plan": "free"}, headers=auth)
    body = await resp.json()
    assert resp.status == 400 and body["code"] == "ProcessGraphComplexity" and "largest_sync_request" in body["message"]
    resp = await client.post("/result", json={"process": PROCESS, "budget": 5}, headers=auth)
    body = await resp.json()
    assert resp.status == 402 and body["code"] == "PaymentRequired" and "11" in body["message"] and "5" in body["message"]
    assert not [c for c in fakes.executor.calls if c[0] == "Execute"]
    resp = await client.post("/result", json={"process": PROCESS, "budget": 0}, headers=auth)
    assert resp.status == 400 and (await resp.json())["code"] == "BudgetInvalid"


async def test_job_with_budget_below_estimate_is_refused_at_start(client, auth, fakes):
    fakes.executor.estimate = 42.5
    resp = await client.post("/jobs", json={"process": PROCESS, "budget": 40}, headers=auth)
    job_id = resp.headers["OpenEO-Identifier"]
    resp = await client.post(f"/jobs/{job_id}/results", headers=auth)
    body = await resp.json()
    assert resp.status == 402 and body["code"] == "PaymentRequired"
    assert "42.5" in body["message"] and "40" in body["message"]
    assert fakes.store.jobs[job_id].status == "created"
    await client.patch(f"/jobs/{job_id}", json={"budget": 50}, headers=auth)
    assert (await client.post(f"/jobs/{job_id}/results", headers=auth)).status == 202
    assert fakes.store.jobs[job_id].status == "queued"


async def test_job_start_quotas(client, auth, fakes):
    resp = await client.post("/jobs", json={"process": PROCESS, "plan": "free"}, headers=auth)
    job_id = resp.headers["OpenEO-Identifier"]
    fakes.store.active_jobs = 1
    resp = await client.post(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 429 and resp.headers["Retry-After"] == "60"
    assert "concurrent_jobs" in (await resp.json())["message"]
    fakes.store.active_jobs = 0
    user_id = fakes.store.jobs[job_id].user_id
    fakes.store.spent[user_id] = 300.0  # the free plan's month is used up
    resp = await client.post(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 429 and resp.headers["Retry-After"] == "3600"
    assert "processing_units_per_month" in (await resp.json())["message"]
    assert fakes.store.jobs[job_id].status == "created"
    assert not [c for c in fakes.executor.calls if c[0] == "EstimateCosts"]  # no budget: not priced
    # a job with a budget is priced: 299 spent + its 2.5 go over the 300
    fakes.store.spent[user_id] = 299.0
    assert (await client.patch(f"/jobs/{job_id}", json={"budget": 10}, headers=auth)).status == 204
    resp = await client.post(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 429 and "this job is estimated at 2.5" in (await resp.json())["message"]
    assert (await client.patch(f"/jobs/{job_id}", json={"budget": None}, headers=auth)).status == 204
    assert (await client.post(f"/jobs/{job_id}/results", headers=auth)).status == 202


async def test_me_shows_plan_spending_and_remaining_budget(client, auth, fakes):
    body = await (await client.get("/me", headers=auth)).json()
    assert body["default_plan"] == "standard" and body["budget"] == 100000
    fakes.store.spent[body["user_id"]] = 1234.5
    body = await (await client.get("/me", headers=auth)).json()
    assert body["budget"] == 100000 - 1234.5
    assert body["spending"] == {"month": "2026-12", "processing_units": 1234.5, "active_jobs": 0}


async def test_a_job_stopped_at_its_budget_lists_its_partial_results(client, auth, fakes):
    from tests.gateway.test_results import finished_job

    job_id = await finished_job(client, auth, fakes, status="error")
    fakes.store.jobs[job_id].error_json = json.dumps({"code": "PaymentRequired", "message": "budget reached"})
    assert (await client.get(f"/jobs/{job_id}/results", headers=auth)).status == 424
    resp = await client.get(f"/jobs/{job_id}/results?partial=true", headers=auth)
    assert resp.status == 200
    item = await resp.json()
    assert item["properties"]["openeo:status"] == "error" and "result.tif" in item["assets"]
    fakes.store.jobs[job_id].ClearField("results")  # a failed job without results: still the error
    assert (await client.get(f"/jobs/{job_id}/results?partial=true", headers=auth)).status == 424


async def test_a_service_carries_its_plans_monthly_limit_for_the_tiles_service(client, auth, fakes):
    resp = await client.post("/services", json={"type": "XYZ", "process": PROCESS, "plan": "free"}, headers=auth)
    assert resp.status == 201
    service_id = resp.headers["OpenEO-Identifier"]
    assert fakes.store.services[service_id].processing_units_per_month == 300
    resp = await client.patch(f"/services/{service_id}", json={"plan": "standard"}, headers=auth)
    assert resp.status == 204
    assert fakes.store.services[service_id].processing_units_per_month == 100000
    resp = await client.patch(f"/services/{service_id}", json={"title": "renamed"}, headers=auth)
    assert fakes.store.services[service_id].processing_units_per_month == 100000  # unchanged without "plan"
    default = await client.post("/services", json={"type": "XYZ", "process": PROCESS}, headers=auth)
    assert fakes.store.services[default.headers["OpenEO-Identifier"]].processing_units_per_month == 100000


@pytest.mark.parametrize("code, status, charged", [
    ("KernelDimensionsUneven", 400, 4.5),  # the graph's own failure: its spending is the user's
    ("SentinelHubError", 502, 0.0),  # Sentinel Hub's failure: not the user's to pay
])
async def test_a_failed_sync_request_counts_what_it_spent_only_when_the_graph_failed(client, auth, fakes, code,
                                                                                    status, charged):
    from backend_common.errors import OpenEOError

    error = OpenEOError(code, "failed after its loads", status)
    error.processing_units = 4.5
    fakes.executor.fail_with = error
    resp = await client.post("/result", json={"process": PROCESS, "plan": "free"}, headers=auth)
    assert resp.status == status and (await resp.json())["code"] == code
    _, admission = [c for c in fakes.store.calls if c[0] == "AdmitSyncRequest"][-1]
    assert fakes.store.spent.get(admission.user_id, 0.0) == charged
