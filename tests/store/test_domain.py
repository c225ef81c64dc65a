"""Pure domain functions: paging tokens, job status rules, validation, timestamps (no server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from backend_common.errors import OpenEOError
from backend_proto.v1 import store_pb2
from store_svc import job_states, paging, validation
from store_svc.timeutil import from_millis, parse_rfc3339, rfc3339, to_millis, utc_now

NOW = datetime(2026, 11, 25, 1, 2, 3, 456000, tzinfo=timezone.utc)


def test_page_token_round_trip_and_filter():
    doc = {"_id": "j-abc", "created": NOW}
    cursor = paging.decode_token(paging.encode_token(doc))
    assert cursor == paging.Cursor(to_millis(NOW), "j-abc")
    query = paging.page_filter({"user_id": "u"}, cursor)
    assert query["user_id"] == "u"
    assert query["$or"] == [{"created": {"$lt": NOW}}, {"created": NOW, "_id": {"$lt": "j-abc"}}]
    assert paging.page_filter({"user_id": "u"}, None) == {"user_id": "u"}


@pytest.mark.parametrize("token", ["!!", "bm90IGpzb24", "e30", "eyJjIjogImEiLCAiayI6IDF9"])
def test_malformed_page_tokens_are_400(token):
    with pytest.raises(OpenEOError) as err:
        paging.decode_token(token)
    assert (err.value.code, err.value.status) == ("PageTokenInvalid", 400)


def test_limits_and_page_split():
    assert paging.clamp_limit(0) == paging.DEFAULT_LIMIT
    assert paging.clamp_limit(-5) == paging.DEFAULT_LIMIT
    assert paging.clamp_limit(10**6) == paging.MAX_LIMIT
    docs = [{"_id": str(i), "created": NOW - timedelta(seconds=i)} for i in range(4)]
    page, token = paging.split_page(docs, 3)
    assert [d["_id"] for d in page] == ["0", "1", "2"]
    assert paging.decode_token(token).key == "2"
    assert paging.split_page(docs[:3], 3) == (docs[:3], "")


def job(status: str, **fields) -> dict:
    return {"_id": "j-1", "status": status, "version": 4, "attempts": 0, **fields}


@pytest.mark.parametrize("status", ["created", "finished", "error", "canceled"])
def test_queue_from_idle_states_resets_the_run(status):
    owner = {"auth_method": "basic", "sh_access_token": "tok"}
    changes = job_states.queue_changes(job(status, progress=55.0, error_json="{}"), NOW, owner_credentials=owner,
                                       run_id="run-2")
    assert changes["status"] == "queued" and changes["queued_at"] == NOW
    assert changes["credentials"] == owner and changes["run_id"] == "run-2"
    assert (changes["progress"], changes["error_json"], changes["results"], changes["attempts"]) == (0, "", None, 0)


@pytest.mark.parametrize("status", ["queued", "running"])
def test_queue_while_queued_or_running_only_refreshes_the_credentials(status):
    owner = {"auth_method": "basic", "sh_access_token": "tok"}
    assert job_states.queue_changes(job(status, credentials=owner), NOW, owner_credentials=owner, run_id="r") is None
    fresh = {"auth_method": "basic", "sh_access_token": "fresh"}
    assert job_states.queue_changes(job(status, credentials=owner), NOW, owner_credentials=fresh,
                                    run_id="r") == {"credentials": fresh}


def test_cancel_rules():
    assert job_states.cancel_changes(job("queued"), NOW)["status"] == "canceled"
    assert job_states.cancel_changes(job("running"), NOW) == {"cancel_requested": True, "updated": NOW}
    assert job_states.cancel_changes(job("running", cancel_requested=True), NOW) is None
    for status in ("created", "finished", "error", "canceled"):
        assert job_states.cancel_changes(job(status), NOW) is None


def test_patch_locked_only_while_queued_or_running():
    for status in ("queued", "running"):
        with pytest.raises(OpenEOError) as err:
            job_states.check_patchable(job(status))
        assert (err.value.code, err.value.status) == ("JobLocked", 400)
    for status in ("created", "finished", "error", "canceled"):
        job_states.check_patchable(job(status))


def test_claim_changes_and_lease_expiry():
    queued = job("queued")
    changes = job_states.claim_changes(queued, NOW, worker_id="w", lease_token="t", lease_seconds=30, max_attempts=3)
    assert changes["status"] == "running" and changes["attempts"] == 1 and changes["lease_token"] == "t"
    assert changes["lease_expires"] == NOW + timedelta(seconds=30)
    running = job("running", attempts=1, lease_expires=NOW)
    assert job_states.lease_expired(running, NOW)
    assert not job_states.lease_expired(job("running", attempts=1, lease_expires=NOW + timedelta(seconds=1)), NOW)
    again = job_states.claim_changes(running, NOW, worker_id="w2", lease_token="t2", lease_seconds=30, max_attempts=3)
    assert again["attempts"] == 2 and again["worker_id"] == "w2"


def test_claim_after_too_many_lost_executors_fails_the_job():
    lost = job("running", attempts=3, lease_expires=NOW)
    changes = job_states.claim_changes(lost, NOW, worker_id="w", lease_token="t", lease_seconds=30, max_attempts=3)
    assert changes["status"] == "error" and changes["lease_token"] is None
    assert json.loads(changes["error_json"])["message"].endswith("executor lost 3 times.")


def test_lost_executor_of_a_canceled_job_ends_it_canceled():
    lost = job("running", attempts=1, lease_expires=NOW, cancel_requested=True)
    changes = job_states.claim_changes(lost, NOW, worker_id="w", lease_token="t", lease_seconds=30, max_attempts=3)
    assert changes["status"] == "canceled"


def test_complete_changes():
    results = store_pb2.JobResults(assets=[store_pb2.ResultAsset(name="a.tif", key="jobs/j-1/a.tif", size=7)])
    finished = job_states.complete_changes(store_pb2.CompleteJobRequest(status="finished", results=results), NOW)
    assert finished["progress"] == 100 and finished["lease_token"] is None
    assert finished["results"] == {"assets": [{"name": "a.tif", "key": "jobs/j-1/a.tif", "size": "7"}]}
    failed = job_states.complete_changes(store_pb2.CompleteJobRequest(status="error"), NOW)
    assert json.loads(failed["error_json"])["code"] == "Internal"
    with pytest.raises(OpenEOError):
        job_states.complete_changes(store_pb2.CompleteJobRequest(status="running"), NOW)


def test_patch_changes_validate_each_masked_field():
    request = store_pb2.UpdateJobRequest(update_mask=["log_level", "budget"], log_level="WARNING", budget=2)
    assert job_states.patch_changes(request) == {"log_level": "warning", "budget": 2.0}
    with pytest.raises(OpenEOError) as err:
        job_states.patch_changes(store_pb2.UpdateJobRequest(update_mask=["budget"], budget=float("nan")))
    assert err.value.code == "BudgetInvalid"


def test_validation_helpers():
    assert validation.log_level("") == "info"
    assert validation.process_graph_id("ndvi_2") == "ndvi_2"
    for bad in ("a-b", "", "a b", "x/y"):
        with pytest.raises(OpenEOError):
            validation.process_graph_id(bad)
    assert validation.json_text("x", "[1]", want_object=False) == "[1]"
    with pytest.raises(OpenEOError):
        validation.json_text("x", "[1]")


def test_times_are_rfc3339_utc_with_millisecond_precision():
    assert rfc3339(NOW) == "2026-11-25T01:02:03.456Z"
    assert rfc3339(NOW.replace(microsecond=0)) == "2026-11-25T01:02:03Z"
    assert parse_rfc3339("2026-11-25T02:02:03.456789+01:00") == NOW
    assert from_millis(to_millis(NOW)) == NOW
    now = utc_now()
    assert now.microsecond % 1000 == 0 and now.tzinfo is not None
    with pytest.raises(ValueError):
        parse_rfc3339("2026-11-25T01:02:03")


def test_user_documents_with_an_unpaired_surrogate_are_refused_other_json_kept():
    """An escaped lone surrogate is valid JSON text but invalid Unicode: stored, it made every
    listing of the user's processes fail. User documents are refused; the services' own
    documents (errors, usage, log data) are kept as they are."""
    bad = '{"process_graph": {}, "description": "\\ud83d"}'
    with pytest.raises(OpenEOError) as err:
        validation.process_json(bad)
    assert (err.value.code, err.value.status) == ("ProcessInvalid", 400)
    with pytest.raises(OpenEOError):
        validation.json_text("configuration", '{"\\uDC00": 1}', user_document=True)
    assert validation.process_json('{"process_graph": {}, "description": "\\ud83d\\ude00 ok"}')  # a valid pair
    assert validation.json_text("usage", '{"x": "\\ud83d"}') == '{"x": "\\ud83d"}'
