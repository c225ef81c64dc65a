"""Issue 9 'done when': OIDC login with the openeo client (client credentials and device flow)
against the local OIDC provider, a sync graph and a job, isolation from basic users."""

from __future__ import annotations

import openeo
import pytest
import requests

from devstack.stack import OIDC_CONFIDENTIAL_CLIENT, OIDC_CONFIDENTIAL_SECRET

SMALL_NDVI = {
    "load": {
        "process_id": "load_collection",
        "arguments": {
            "id": "SENTINEL2_L2A",
            "spatial_extent": {"west": 14.0, "south": 46.0, "east": 14.005, "north": 46.005},
            "temporal_extent": ["2024-06-01", "2024-06-06"],
            "bands": ["B04", "B08"],
        },
    },
    "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
    "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"}, "result": True},
}


@pytest.fixture
def oidc_connection(stack) -> openeo.Connection:
    con = openeo.connect(stack.gateway_url)
    con.authenticate_oidc_client_credentials(
        client_id=OIDC_CONFIDENTIAL_CLIENT, client_secret=OIDC_CONFIDENTIAL_SECRET, provider_id="local"
    )
    return con


def test_credentials_oidc_lists_the_provider(stack):
    providers = requests.get(stack.gateway_url + "/credentials/oidc", timeout=10).json()["providers"]
    local = next(p for p in providers if p["id"] == "local")
    assert local["issuer"] == stack.oidc_issuer
    grants = {g for client in local["default_clients"] for g in client["grant_types"]}
    assert "urn:ietf:params:oauth:grant-type:device_code+pkce" in grants


def test_client_credentials_login_and_sync_result(oidc_connection, tmp_path):
    me = oidc_connection.describe_account()
    assert me["user_id"] == f"oidc~local~service-account-{OIDC_CONFIDENTIAL_CLIENT}"
    out = tmp_path / "ndvi.tif"
    oidc_connection.download({"process_graph": SMALL_NDVI}, outputfile=out)
    assert out.read_bytes()[:4] in (b"II*\x00", b"MM\x00*")


def test_device_flow_login(stack):
    con = openeo.connect(stack.gateway_url)
    con.authenticate_oidc_device(provider_id="local", max_poll_time=30)
    assert con.describe_account()["user_id"] == "oidc~local~alice"


def test_oidc_and_basic_users_never_share_jobs(oidc_connection, connection):
    job = oidc_connection.create_job({"process_graph": SMALL_NDVI}, title="oidc job")
    assert job.job_id in {j["id"] for j in oidc_connection.list_jobs()}
    assert job.job_id not in {j["id"] for j in connection.list_jobs()}
    resp = requests.get(
        f"{connection.root_url.rstrip('/')}/jobs/{job.job_id}", headers={"Authorization": f"Bearer {connection.auth.bearer}"}, timeout=10
    )
    assert resp.status_code == 404 and resp.json()["code"] == "JobNotFound"


def test_forged_and_unknown_provider_tokens(stack, oidc_connection):
    token = oidc_connection.auth.bearer.split("/", 2)[2]
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[::-1]])
    for bearer, code in [(f"oidc/local/{forged}", "TokenInvalid"), (f"oidc/elsewhere/{token}", "AuthenticationSchemeInvalid")]:
        resp = requests.get(stack.gateway_url + "/me", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
        assert resp.status_code == 403 and resp.json()["code"] == code


def test_plain_jwt_bearer_as_api_1_3_prefers(stack, oidc_connection, connection):
    oidc_token = oidc_connection.auth.bearer.split("/", 2)[2]
    basic_token = connection.auth.bearer.split("/", 2)[2]
    for token, prefix in [(oidc_token, "oidc~local~"), (basic_token, "basic~")]:
        resp = requests.get(stack.gateway_url + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 200 and resp.json()["user_id"].startswith(prefix)
