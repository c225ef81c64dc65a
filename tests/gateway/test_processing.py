"""POST /validation and POST /result (streaming, costs, errors before and during the stream)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.gateway.conftest import BAD_PROCESS, PROCESS


async def test_validation_reports_problems(client):
    ok = await client.post("/validation", json=PROCESS)
    assert ok.status == 200 and (await ok.json()) == {"errors": []}
    bad = await client.post("/validation", json=BAD_PROCESS)
    assert bad.status == 200
    errors = (await bad.json())["errors"]
    assert errors[0]["code"] == "ProcessUnsupported" and errors[0]["message"]
    missing = await client.post("/validation", json={"foo": 1})
    assert (await missing.json())["errors"][0]["code"] == "ProcessGraphMissing"


async def test_result_streams_with_costs(client, auth, fakes):
    resp = await client.post("/result", json={"process": PROCESS}, headers=auth)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/tiff; application=geotiff"
    assert resp.headers["OpenEO-Costs"] == "2.5"
    assert await resp.read() == b"".join(fakes.executor.result_chunks)
    _, compile_req = [c for c in fakes.compiler.calls if c[0] == "Compile"][-1]
    assert compile_req.purpose == 1  # PURPOSE_SYNC
    _, execute = fakes.executor.calls[-1]
    assert execute.user.user_id == "basic~user-1" and execute.plan.result_node_id == "save"


async def test_result_errors_before_streaming(client, auth, fakes):
    assert (await client.post("/result", json={"process": PROCESS})).status == 401
    bad = await client.post("/result", json={"process": BAD_PROCESS}, headers=auth)
    assert bad.status == 400 and (await bad.json())["code"] == "ProcessUnsupported"
    assert "Execute" not in fakes.executor.names()
    missing = await client.post("/result", json={}, headers=auth)
    assert missing.status == 400 and (await missing.json())["code"] == "ProcessGraphMissing"


async def test_result_failure_mid_stream_truncates(client, auth, fakes):
    fakes.executor.fail_mid_stream = True
    resp = await client.post("/result", json={"process": PROCESS}, headers=auth)
    assert resp.status == 200  # headers were already sent
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
