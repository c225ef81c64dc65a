"""Issue 9 'done when': OIDC login with the openeo client (client credentials and device flow)
against the local OIDC provider, a sync graph and a job, isolation from basic users.
Issue 23: browser login (CORS and the authorization-code flow with PKCE), done as a browser does it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

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
    # What the openEO Web Editor looks for: a client with the code flow and redirect URLs.
    browser = next(c for c in local["default_clients"] if "authorization_code+pkce" in c["grant_types"])
    assert "https://editor.openeo.org/" in browser["redirect_urls"]


def test_browser_login_with_authorization_code_and_pkce(stack):
    """What the Web Editor does: read discovery cross-origin, navigate to the authorization
    endpoint, take the code from the redirect, exchange it (POST with a preflight), call /me."""
    editor_origin = "http://localhost:1410"
    redirect_uri = editor_origin + "/"
    providers = requests.get(stack.gateway_url + "/credentials/oidc", headers={"Origin": editor_origin}, timeout=10).json()["providers"]
    local = next(p for p in providers if p["id"] == "local")
    client = next(c for c in local["default_clients"] if "authorization_code+pkce" in c["grant_types"])
    assert redirect_uri in client["redirect_urls"]

    discovery = requests.get(local["issuer"] + "/.well-known/openid-configuration", headers={"Origin": editor_origin}, timeout=10)
    assert discovery.status_code == 200 and discovery.headers["Access-Control-Allow-Origin"] == editor_origin
    doc = discovery.json()
    assert "S256" in doc["code_challenge_methods_supported"] and "authorization_code" in doc["grant_types_supported"]
    assert "code" in doc["response_types_supported"]
    jwks = requests.get(doc["jwks_uri"], headers={"Origin": editor_origin}, timeout=10)
    assert jwks.headers["Access-Control-Allow-Origin"] == editor_origin

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    authorize = requests.get(
        doc["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": client["id"],
            "redirect_uri": redirect_uri,
            "scope": " ".join(local["scopes"]),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert authorize.status_code == 302, authorize.text
    location = authorize.headers["Location"]
    assert location.startswith(redirect_uri)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["state"] == state

    preflight = requests.options(
        doc["token_endpoint"],
        headers={"Origin": editor_origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )
    assert preflight.status_code in (200, 204) and preflight.headers["Access-Control-Allow-Origin"] == editor_origin
    form = {"grant_type": "authorization_code", "client_id": client["id"], "code": query["code"], "redirect_uri": redirect_uri}
    wrong = requests.post(doc["token_endpoint"], data={**form, "code_verifier": secrets.token_urlsafe(48)}, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # The refused attempt used up the code (single use): authorize again and exchange properly.
    again = requests.get(authorize.url, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(again.headers["Location"]).query)["code"][0]
    tokens = requests.post(doc["token_endpoint"], data={**form, "code": code, "code_verifier": verifier}, headers={"Origin": editor_origin}, timeout=10)
    assert tokens.status_code == 200 and tokens.headers["Access-Control-Allow-Origin"] == editor_origin
    access_token = tokens.json()["access_token"]

    me_preflight = requests.options(
        stack.gateway_url + "/me",
        headers={"Origin": editor_origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
        timeout=10,
    )
    assert me_preflight.status_code in (200, 204) and me_preflight.headers["Access-Control-Allow-Origin"] == editor_origin
    assert "authorization" in me_preflight.headers["Access-Control-Allow-Headers"].lower()
    me = requests.get(
        stack.gateway_url + "/me", headers={"Authorization": f"Bearer oidc/local/{access_token}", "Origin": editor_origin}, timeout=10
    )
    assert me.status_code == 200 and me.json()["user_id"] == "oidc~local~alice"
    assert me.headers["Access-Control-Allow-Origin"] == editor_origin


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
