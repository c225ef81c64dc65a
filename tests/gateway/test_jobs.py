"""Batch jobs: CRUD, paging, PATCH rules, start/cancel, estimate, logs."""

from __future__ import annotations

import json

from backend_proto.v1 import store_pb2
from tests.gateway.conftest import BAD_PROCESS, PROCESS


async def create(client, auth, **extra) -> str:
    resp = await client.post("/jobs", json={"process": PROCESS, **extra}, headers=auth)
    assert resp.status == 201, await resp.text()
    return resp.headers["OpenEO-Identifier"]


async def test_create_job(client, auth, settings, fakes):
    resp = await client.post("/jobs", json={"process": PROCESS, "title": "NDVI", "log_level": "warning",
                                            "custom_option": 3}, headers=auth)
    assert resp.status == 201
    job_id = resp.headers["OpenEO-Identifier"]
    assert resp.headers["Location"] == f"{settings.public_url}/jobs/{job_id}"
    assert "Validate" in fakes.compiler.names()
    job = await (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert job["id"] == job_id and job["title"] == "NDVI" and job["status"] == "created"
    assert job["process"] == PROCESS
    assert job["log_level"] == "warning"
    assert job["job_options"] == {"custom_option": 3}
    assert {link["rel"] for link in job["links"]} >= {"monitor"}


async def test_create_job_invalid_process_is_refused(client, auth, fakes):
    resp = await client.post("/jobs", json={"process": BAD_PROCESS}, headers=auth)
    assert resp.status == 400
    assert (await resp.json())["code"] == "ProcessUnsupported"
    assert fakes.store.jobs == {}
    missing = await client.post("/jobs", json={"title": "x"}, headers=auth)
    assert missing.status == 400 and (await missing.json())["code"] == "ProcessGraphMissing"
    wrong_type = await client.post("/jobs", json={"process": PROCESS, "title": 5}, headers=auth)
    assert wrong_type.status == 400


async def test_jobs_are_per_user(client, auth, idp):
    job_id = await create(client, auth)
    other = {"Authorization": "Bearer basic//" + idp.token(sub="mallory")}
    resp = await client.get(f"/jobs/{job_id}", headers=other)
    assert resp.status == 404 and (await resp.json())["code"] == "JobNotFound"
    assert (await (await client.get("/jobs", headers=other)).json())["jobs"] == []


async def test_list_jobs_paging(client, auth, settings):
    ids = [await create(client, auth, title=f"job {i}") for i in range(5)]
    page = await (await client.get("/jobs?limit=2", headers=auth)).json()
    seen = [j["id"] for j in page["jobs"]]
    assert len(seen) == 2 and "process" not in page["jobs"][0]
    while True:
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        href = nxt[0]["href"]
        assert href.startswith(settings.public_url + "/jobs?")
        page = await (await client.get(href[len(settings.public_url):], headers=auth)).json()
        seen += [j["id"] for j in page["jobs"]]
    assert seen == ids
    bad = await client.get("/jobs?limit=abc", headers=auth)
    assert bad.status == 400


async def test_patch_job(client, auth, fakes):
    job_id = await create(client, auth)
    resp = await client.patch(f"/jobs/{job_id}", json={"title": "renamed", "budget": 5}, headers=auth)
    assert resp.status == 204
    job = await (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert job["title"] == "renamed" and job["budget"] == 5
    _, update = [c for c in fakes.store.calls if c[0] == "UpdateJob"][-1]
    assert sorted(update.update_mask) == ["budget", "title"]


async def test_patch_job_rules(client, auth, fakes):
    job_id = await create(client, auth)
    for body, code in [
        ({}, "NoDataForUpdate"),
        ({"status": "finished"}, "PropertyNotEditable"),
        ({"process": BAD_PROCESS}, "ProcessUnsupported"),
        ({"plan": "gold"}, "BillingPlanInvalid"),
    ]:
        resp = await client.patch(f"/jobs/{job_id}", json=body, headers=auth)
        assert resp.status == 400, body
        assert (await resp.json())["code"] == code
    assert (await client.post(f"/jobs/{job_id}/results", headers=auth)).status == 202
    locked = await client.patch(f"/jobs/{job_id}", json={"title": "x"}, headers=auth)
    assert locked.status == 400 and (await locked.json())["code"] == "JobLocked"


async def test_start_cancel_delete(client, auth, fakes):
    job_id = await create(client, auth)
    assert (await client.post(f"/jobs/{job_id}/results", headers=auth)).status == 202
    assert fakes.store.jobs[job_id].status == "queued"
    listed = await (await client.get("/jobs", headers=auth)).json()
    assert listed["jobs"][0]["status"] == "queued"
    assert (await client.delete(f"/jobs/{job_id}/results", headers=auth)).status == 204
    assert fakes.store.jobs[job_id].status == "canceled"
    assert (await client.delete(f"/jobs/{job_id}", headers=auth)).status == 204
    names = fakes.executor.names()
    assert "DeleteJobResults" in names
    assert job_id not in fakes.store.jobs
    assert (await client.get(f"/jobs/{job_id}", headers=auth)).status == 404
    # Deleting someone else's / unknown job does not touch the executor.
    before = len(fakes.executor.calls)
    assert (await client.delete("/jobs/j-999", headers=auth)).status == 404
    assert len(fakes.executor.calls) == before


async def test_progress_and_usage(client, auth, fakes):
    job_id = await create(client, auth)
    job = fakes.store.jobs[job_id]
    job.status, job.progress = "running", 42.5
    body = await (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert body["progress"] == 42.5
    job.status, job.progress, job.costs = "finished", 100, 7.25
    job.usage_json = json.dumps({"duration": {"value": 12, "unit": "seconds"}})
    body = await (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert body["progress"] == 100 and body["costs"] == 7.25
    assert body["usage"]["sentinelhub"] == {"value": 7.25, "unit": "processing units"}
    assert body["usage"]["duration"]["value"] == 12
    assert "result" in {link["rel"] for link in body["links"]}


async def test_estimate(client, auth, fakes):
    job_id = await create(client, auth)
    resp = await client.get(f"/jobs/{job_id}/estimate", headers=auth)
    assert resp.status == 200
    body = await resp.json()
    # the costs are the executor's exact estimate of the job's requests, not the plan's rough one
    assert body == {"costs": 2.5, "size": 4096, "duration": "PT1H2M5S", "downloads_included": None}
    _, req = [c for c in fakes.compiler.calls if c[0] == "Compile"][-1]
    assert req.purpose == 2  # PURPOSE_BATCH
    _, estimate = [c for c in fakes.executor.calls if c[0] == "EstimateCosts"][-1]
    assert estimate.batch_job and estimate.plan.estimated_processing_units == 12.5


async def test_logs_with_offset_level_limit(client, auth, fakes, settings):
    job_id = await create(client, auth)
    fakes.store.logs[job_id] = [
        store_pb2.LogEntry(id=str(i), level=level, message=f"m{i}", time="2026-11-25T00:00:00Z",
                           node_id="load" if i == 3 else "", data_json='{"a": 1}' if i == 2 else "")
        for i, level in enumerate(["debug", "info", "warning", "error", "info"], start=1)
    ]
    body = await (await client.get(f"/jobs/{job_id}/logs", headers=auth)).json()
    assert [e["id"] for e in body["logs"]] == ["1", "2", "3", "4", "5"]
    assert body["logs"][1]["data"] == {"a": 1}
    assert body["logs"][2]["path"] == [{"node_id": "load"}]
    body = await (await client.get(f"/jobs/{job_id}/logs?level=warning", headers=auth)).json()
    assert body["level"] == "warning" and [e["id"] for e in body["logs"]] == ["3", "4"]
    body = await (await client.get(f"/jobs/{job_id}/logs?offset=2", headers=auth)).json()
    assert [e["id"] for e in body["logs"]] == ["3", "4", "5"]
    page = await (await client.get(f"/jobs/{job_id}/logs?limit=2", headers=auth)).json()
    assert [e["id"] for e in page["logs"]] == ["1", "2"]
    nxt = [link["href"] for link in page["links"] if link["rel"] == "next"][0]
    page2 = await (await client.get(nxt[len(settings.public_url):], headers=auth)).json()
    assert [e["id"] for e in page2["logs"]] == ["3", "4"]
    bad = await client.get(f"/jobs/{job_id}/logs?level=loud", headers=auth)
    assert bad.status == 400
