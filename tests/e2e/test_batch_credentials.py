"""Issue 21: a basic-login user's batch job runs on that user's Sentinel Hub account (the emulator
counts calls per OAuth client), and a job whose stored token was revoked fails with a message
telling the user to log in again, without a single request on the backend's account."""

from __future__ import annotations

import time
from datetime import date

import openeo
import pytest
import requests

from devstack.stack import DEMO_CLIENT_ID, SECOND_CLIENT_ID, SECOND_CLIENT_SECRET
from tests.e2e import emulator_stats
from tests.e2e.worldcheck import day_interval, first_acquisition

pytestmark = pytest.mark.stack

ACQ = first_acquisition(date(2024, 8, 1))
BBOX = {"west": 14.10, "south": 46.10, "east": 14.115, "north": 46.11}
BACKEND_CLIENT = DEMO_CLIENT_ID  # SH_CLIENT_ID of the devstack executors


def ndvi_job(connection, title: str):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ),
                                      bands=["B04", "B08"])
    return cube.ndvi(nir="B08", red="B04").save_result("GTiff").create_job(title=title)


def emulator_calls(stack) -> dict:
    return emulator_stats.stats(stack)["api_calls_by_client"]


def reset_emulator_stats(stack) -> None:
    emulator_stats.reset_when_idle(stack)


def wait_final(job, timeout: float = 60) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = job.status()
        if status in ("finished", "error", "canceled"):
            return status
        time.sleep(0.5)
    return job.status()


def test_a_basic_users_batch_job_is_paid_by_that_users_account(stack, second_connection):
    token = second_connection.auth.bearer.split("/")[-1]
    job = ndvi_job(second_connection, "paid by its owner")
    reset_emulator_stats(stack)
    job.start()
    assert wait_final(job) == "finished"
    calls = emulator_calls(stack)
    own = calls.get(SECOND_CLIENT_ID, {})
    assert own.get("process 200", 0) >= 1, calls
    assert BACKEND_CLIENT not in calls, calls  # not one request on the backend's account
    assert any("your own Sentinel Hub account" in entry["message"] for entry in job.logs())
    # the stored token is never shown: not in the job, the listing, the logs or the results
    headers = {"Authorization": f"Bearer {second_connection.auth.bearer}"}
    for path in (f"/jobs/{job.job_id}", "/jobs", f"/jobs/{job.job_id}/logs", f"/jobs/{job.job_id}/results"):
        body = requests.get(stack.gateway_url + path, headers=headers, timeout=10).text
        assert token not in body, path
    # and no service logs it (the store keeps it, the executor uses it)
    for name, text in stack.logs().items():
        assert token not in text, name


def test_a_revoked_token_fails_the_job_with_a_clear_message_and_never_uses_the_backend_account(stack):
    connection = openeo.connect(stack.gateway_url)
    connection.authenticate_basic(SECOND_CLIENT_ID, SECOND_CLIENT_SECRET)
    job = ndvi_job(connection, "token revoked before it ran")
    # the user's Sentinel Hub OAuth client is re-created: tokens issued so far stop working, but
    # the gateway still accepts the (validly signed, unexpired) token for starting the job
    requests.post(stack.emulator_url + "/_emulator/revoke-tokens", json={"client_id": SECOND_CLIENT_ID},
                  timeout=5).raise_for_status()
    reset_emulator_stats(stack)
    job.start()
    assert wait_final(job) == "error"
    errors = [entry["message"] for entry in job.logs(level="error")]
    assert errors and "log in again and restart the job" in errors[-1], errors
    described = requests.get(f"{stack.gateway_url}/jobs/{job.job_id}/results",
                             headers={"Authorization": f"Bearer {connection.auth.bearer}"}, timeout=10)
    assert described.status_code == 424 and "log in again" in described.json()["message"]
    calls = emulator_calls(stack)
    assert set(calls) == {SECOND_CLIENT_ID}, calls  # the backend's account was never used
    assert set(calls[SECOND_CLIENT_ID]) <= {"process 401", "catalog_search 401"}, calls
    # started once, refused once: not retried
    started = [e for e in job.logs() if e["message"].startswith("Job started")]
    assert len(started) == 1
