"""Cross-cutting behaviour: errors, CORS, request ids, body limits."""

from __future__ import annotations

import json

import pytest

from tests.gateway.conftest import PROCESS


def assert_openeo_error(body: dict, code: str) -> None:
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["links"] == []
    assert body["id"]


async def test_unknown_route_is_openeo_not_found(client):
    resp = await client.get("/no/such/thing")
    assert resp.status == 404
    assert resp.headers["Content-Type"].startswith("application/json")
    assert_openeo_error(await resp.json(), "NotFound")


async def test_wrong_method_is_405_with_allow(client):
    resp = await client.put("/jobs")
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert_openeo_error(await resp.json(), "MethodNotAllowed")


async def test_malformed_json_is_400(client, auth):
    resp = await client.post("/jobs", data=b"{not json", headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 400
    body = await resp.json()
    assert_openeo_error(body, "JsonInvalid")
    assert "Traceback" not in body["message"]


async def test_json_that_is_not_an_object_is_400(client, auth):
    resp = await client.post("/jobs", json=[1, 2, 3], headers=auth)
    assert resp.status == 400
    assert_openeo_error(await resp.json(), "JsonInvalid")


@pytest.mark.parametrize("depth, refused", [(150, False), (201, True), (5000, True)])
async def test_deeply_nested_json_is_400_before_any_service(client, auth, depth, refused):
    """Objects/arrays nested `depth` levels (5000 make Python's JSON parser itself give up)."""
    nested = "[" * (depth - 1) + "1" + "]" * (depth - 1)  # inside the top-level object
    body = '{"process": ' + json.dumps(PROCESS) + ', "description": "d", "x": ' + nested + "}"
    resp = await client.post("/jobs", data=body.encode(), headers={**auth, "Content-Type": "application/json"})
    error = await resp.json() if resp.status >= 400 else {}
    if refused:
        assert resp.status == 400
        assert_openeo_error(error, "JsonInvalid")
        assert "nested more than 200 levels" in error["message"]
    else:
        assert error.get("code") != "JsonInvalid"


async def test_too_large_body_is_413(client, auth):
    big = {"process": PROCESS, "description": "x" * (70 * 1024)}
    resp = await client.post("/jobs", data=json.dumps(big), headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 413
    assert_openeo_error(await resp.json(), "PayloadTooLarge")


async def test_too_large_chunked_body_is_413(client, auth):
    async def gen():
        for _ in range(100):
            yield b"x" * 1024

    resp = await client.post("/validation", data=gen(), headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 413
    assert_openeo_error(await resp.json(), "PayloadTooLarge")


async def test_cors_preflight(client):
    resp = await client.options(
        "/jobs/123",
        headers={"Origin": "https://editor.openeo.org", "Access-Control-Request-Method": "PATCH",
                 "Access-Control-Request-Headers": "Authorization, Content-Type"},
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://editor.openeo.org"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "PATCH", "DELETE", "OPTIONS"}
    allowed = resp.headers["Access-Control-Allow-Headers"]
    assert "Authorization" in allowed and "Content-Type" in allowed
    for header in ("Location", "OpenEO-Identifier", "OpenEO-Costs", "Link"):
        assert header in resp.headers["Access-Control-Expose-Headers"]


async def test_cors_headers_on_normal_and_error_responses(client):
    ok = await client.get("/", headers={"Origin": "http://a.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "http://a.example"
    err = await client.get("/jobs")  # 401
    assert err.status == 401
    assert err.headers["Access-Control-Allow-Origin"] == "*"
    assert "OpenEO-Identifier" in err.headers["Access-Control-Expose-Headers"]


async def test_options_on_unknown_path_is_404(client):
    resp = await client.options("/nope", headers={"Origin": "http://a", "Access-Control-Request-Method": "GET"})
    assert resp.status == 404


async def test_request_id_is_taken_echoed_and_forwarded(client, fakes, auth):
    resp = await client.get("/jobs", headers={**auth, "X-Request-Id": "req-abc.123"})
    assert resp.status == 200
    assert resp.headers["X-Request-Id"] == "req-abc.123"
    assert fakes.store.request_ids[-1] == "req-abc.123"


async def test_request_id_minted_when_missing_or_unsafe(client, fakes, auth):
    resp = await client.get("/jobs", headers={**auth, "X-Request-Id": "bad id <script>"})
    minted = resp.headers["X-Request-Id"]
    assert minted and " " not in minted
    assert fakes.store.request_ids[-1] == minted
    err = await client.get("/nope")
    assert (await err.json())["id"] == err.headers["X-Request-Id"]


async def test_internal_errors_hide_details(client, fakes, auth):
    fakes.store.failures["ListJobs"] = RuntimeError("secret internal detail /etc/passwd")
    resp = await client.get("/jobs", headers=auth)
    assert resp.status == 500
    body = await resp.json()
    assert_openeo_error(body, "Internal")
    assert "secret" not in json.dumps(body)


async def test_healthz_and_readyz(client, fakes):
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["services"] == {"compiler": "SERVING", "executor": "SERVING",
                                                 "tiles": "SERVING", "store": "SERVING"}
    await fakes.servers["tiles"].stop()
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503
    assert (await not_ready.json())["services"]["tiles"] != "SERVING"


async def test_users_mistakes_from_services_are_logged_at_info_failures_at_warning(client, auth, fakes):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        assert (await client.get("/collections/NOPE")).status == 404  # the compiler's answer
        await fakes.servers["store"].stop()
        try:
            assert (await client.get("/jobs", headers=auth)).status == 503
        finally:
            await fakes.servers["store"].start()
    failed = [entry for entry in logs if entry.get("event") == "rpc_failed" and "grpc_code" in entry]  # the gateway's
    assert [(e["log_level"], e["status"]) for e in failed] == [("info", 404), ("warning", 503)]
