"""The OIDC test provider speaks the flows the openeo client uses."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from oidc_test_provider.app import DEVICE_GRANT, create_app
from oidc_test_provider.config import ProviderConfig, parse_clients


@pytest.fixture
async def client():
    config = ProviderConfig(issuer="http://issuer.test", clients=parse_clients("svc:s3cret,public"), auto_approve_sub="")
    async with TestClient(TestServer(create_app(config))) as test_client:
        yield test_client


async def verify(client, token: str, audience: str) -> dict:
    jwks = await (await client.get("/jwks")).json()
    key = jwt.PyJWK(jwks["keys"][0])
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer="http://issuer.test")


async def test_discovery_lists_endpoints(client):
    doc = await (await client.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == "http://issuer.test"
    assert doc["token_endpoint"].endswith("/token") and doc["device_authorization_endpoint"].endswith("/device_authorization")


async def test_client_credentials(client):
    resp = await client.post("/token", data={"grant_type": "client_credentials", "client_id": "svc", "client_secret": "s3cret"})
    assert resp.status == 200
    claims = await verify(client, (await resp.json())["access_token"], "svc")
    assert claims["sub"] == "service-account-svc"
    bad = await client.post("/token", data={"grant_type": "client_credentials", "client_id": "svc", "client_secret": "nope"})
    assert bad.status == 401 and (await bad.json())["error"] == "invalid_client"


async def test_device_flow_with_pkce_and_refresh(client):
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    start = await (await client.post(
        "/device_authorization",
        data={"client_id": "public", "scope": "openid offline_access", "code_challenge": challenge, "code_challenge_method": "S256"},
    )).json()
    poll = {"grant_type": DEVICE_GRANT, "client_id": "public", "device_code": start["device_code"], "code_verifier": verifier}
    pending = await client.post("/token", data=poll)
    assert (await pending.json())["error"] == "authorization_pending"
    assert (await client.post("/device", data={"user_code": start["user_code"], "sub": "bob"})).status == 200
    wrong_verifier = await client.post("/token", data={**poll, "code_verifier": "x" * 50})
    assert (await wrong_verifier.json())["error"] == "invalid_grant"
    tokens = await (await client.post("/token", data=poll)).json()
    assert (await verify(client, tokens["access_token"], "public"))["sub"] == "bob"
    refreshed = await (await client.post(
        "/token", data={"grant_type": "refresh_token", "client_id": "public", "refresh_token": tokens["refresh_token"]}
    )).json()
    assert (await verify(client, refreshed["access_token"], "public"))["sub"] == "bob"
