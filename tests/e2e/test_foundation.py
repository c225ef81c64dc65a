"""Issue 3 'done when': the openEO client against the running stack, request ids across all
services, a stopped store turning into 503 and recovering, CORS and error JSON."""

from __future__ import annotations

import json
import time
import uuid

import openeo
import pytest
import requests

from devstack.health import grpc_serving
from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def test_client_connects_logs_in_and_discovers(stack):
    con = openeo.connect(stack.gateway_url)
    capabilities = con.capabilities()
    assert capabilities.api_version() == "1.2.0"
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    me = con.describe_account()
    assert me["user_id"].startswith("basic~")
    ids = con.list_collection_ids()
    for wanted in ("SENTINEL2_L1C", "SENTINEL2_L2A", "SENTINEL1_GRD", "LANDSAT8-9_L2", "COPERNICUS_30"):
        assert wanted in ids
    s2 = con.describe_collection("SENTINEL2_L2A")
    dims = s2["cube:dimensions"]
    assert dims["x"]["axis"] == "x" and dims["y"]["axis"] == "y" and dims["t"]["type"] == "temporal"
    assert "B04" in dims["bands"]["values"]
    bands = {b["name"]: b for b in s2["summaries"]["eo:bands"]}
    assert bands["B04"]["common_name"] == "red"
    processes = {p["id"] for p in con.list_processes()}
    assert {"load_collection", "ndvi", "reduce_dimension", "save_result"} <= processes


def test_every_service_is_healthy(stack):
    for service in ("store", "compiler", "executor", "tiles"):
        assert grpc_serving(stack.addr(service)), service
    assert requests.get(stack.gateway_url + "/healthz", timeout=5).status_code == 200


def test_request_id_appears_in_every_service_log(stack, connection):
    request_id = "rid-" + uuid.uuid4().hex
    graph = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": {"west": 14.0, "south": 46.0, "east": 14.01, "north": 46.01},
                "temporal_extent": ["2024-06-01", "2024-06-11"],
                "bands": ["B04", "B08"],
            },
        },
        "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"}, "result": True},
    }
    token = connection.auth.bearer
    resp = requests.post(
        stack.gateway_url + "/result",
        json={"process": {"process_graph": graph}},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id},
        timeout=120,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers.get("X-Request-Id") == request_id
    deadline = time.time() + 5
    while True:
        logs = stack.logs()
        seen = {name for name in ("gateway", "compiler", "executor", "executor-2") if request_id in logs.get(name, "")}
        if {"gateway", "compiler"} <= seen and seen & {"executor", "executor-2"} or time.time() > deadline:
            break
        time.sleep(0.2)
    assert "gateway" in seen and "compiler" in seen and seen & {"executor", "executor-2"}
    for line in logs["gateway"].splitlines():
        if request_id in line:
            assert json.loads(line)["request_id"] == request_id
            break


def test_stopped_store_gives_503_and_recovers(stack, connection):
    token = connection.auth.bearer
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(stack.gateway_url + "/jobs", headers=headers, timeout=10).status_code == 200
    stack.stop_service("store")
    try:
        started = time.time()
        resp = requests.get(stack.gateway_url + "/jobs", headers=headers, timeout=60)
        assert resp.status_code == 503
        assert resp.json()["code"] == "ServiceUnavailable"
        assert time.time() - started < 35
    finally:
        stack.restart_service("store")
    deadline = time.time() + 30
    while True:
        resp = requests.get(stack.gateway_url + "/jobs", headers=headers, timeout=10)
        if resp.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert resp.status_code == 200


def test_cors_preflight(stack):
    resp = requests.options(
        stack.gateway_url + "/jobs",
        headers={
            "Origin": "https://editor.openeo.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
        timeout=10,
    )
    assert resp.status_code in (200, 204)
    assert resp.headers["Access-Control-Allow-Origin"] in ("https://editor.openeo.org", "*")
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()
    exposed = resp.headers.get("Access-Control-Expose-Headers", "")
    get = requests.get(stack.gateway_url + "/", headers={"Origin": "https://editor.openeo.org"}, timeout=10)
    exposed += get.headers.get("Access-Control-Expose-Headers", "")
    for header in ("Location", "OpenEO-Identifier", "OpenEO-Costs", "Link"):
        assert header.lower() in exposed.lower()


@pytest.mark.parametrize(
    "method,path,body,status",
    [
        ("GET", "/no/such/route", None, 404),
        ("POST", "/result", b"{not json", 400),
        ("DELETE", "/collections", None, 405),
    ],
)
def test_errors_are_openeo_json(stack, connection, method, path, body, status):
    headers = {"Authorization": f"Bearer {connection.auth.bearer}", "Content-Type": "application/json"}
    resp = requests.request(method, stack.gateway_url + path, data=body, headers=headers, timeout=10)
    assert resp.status_code == status
    payload = resp.json()
    assert {"code", "message"} <= payload.keys() and payload.get("id")
    assert "Traceback" not in resp.text


def test_missing_and_bad_tokens(stack):
    assert requests.get(stack.gateway_url + "/me", timeout=10).status_code == 401
    resp = requests.get(stack.gateway_url + "/me", headers={"Authorization": "Bearer basic//forged.token.value"}, timeout=10)
    assert resp.status_code == 403 and resp.json()["code"] == "TokenInvalid"
