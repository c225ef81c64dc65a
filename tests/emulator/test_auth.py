"""OAuth2 token endpoint, JWKS/discovery, and bearer verification (expiry, forgery, revocation)."""
from __future__ import annotations

import asyncio
import base64
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from sentinelhub_emulator import DEMO_CLIENT_ID
from sentinelhub_emulator.config import EmulatorConfig, parse_clients

from .conftest import TOKEN_PATH, process_body, sh_error


async def _jwks_key(emu, kid):
    resp = await emu.client.get("/auth/realms/main/protocol/openid-connect/certs")
    assert resp.status == 200
    keys = {k["kid"]: k for k in (await resp.json())["keys"]}
    return jwt.PyJWK(keys[kid]).key


async def test_token_is_rs256_jwt_verifiable_with_published_jwks(emu):
    resp = await emu.client.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": "demo-client",
                                                   "client_secret": "demo-secret"})
    assert resp.status == 200
    body = await resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    key = await _jwks_key(emu, header["kid"])
    claims = jwt.decode(token, key, algorithms=["RS256"])
    base = str(emu.client.make_url("")).rstrip("/")
    assert claims["iss"] == base + "/auth/realms/main"
    assert claims["d"]["1"]["t"] == 14000
    assert claims["account"] and claims["sub"]
    assert 3590 <= claims["exp"] - int(time.time()) <= 3600
    disc = await (await emu.client.get("/auth/realms/main/.well-known/openid-configuration")).json()
    assert disc["issuer"] == claims["iss"]
    assert disc["jwks_uri"].endswith("/protocol/openid-connect/certs")
    assert disc["token_endpoint"].endswith(TOKEN_PATH)


async def test_basic_auth_and_legacy_path(emu):
    basic = base64.b64encode(b"demo-client:demo-secret").decode()
    resp = await emu.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})
    assert resp.status == 200
    token = (await resp.json())["access_token"]
    r = await emu.client.post("/api/v1/catalog/1.0.0/search", headers={"Authorization": f"Bearer {token}"},
                              json={"collections": ["sentinel-2-l2a"], "datetime": "2021-06-01T00:00:00Z/.."})
    assert r.status == 200


async def test_bad_client_is_invalid_client(emu):
    for data in ({"client_id": "demo-client", "client_secret": "nope"}, {"client_id": "ghost", "client_secret": "x"},
                 {}):
        resp = await emu.client.post(TOKEN_PATH, data={"grant_type": "client_credentials", **data})
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"
    resp = await emu.client.post(TOKEN_PATH, data={"grant_type": "password", "client_id": "demo-client",
                                                   "client_secret": "demo-secret"})
    assert resp.status == 400


async def test_configured_clients_replace_demo(make_emu, tmp_path):
    emu = await make_emu(clients=parse_clients("alice:s1,bob:s2"))
    assert await emu.get_token("bob", "s2")
    resp = await emu.client.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
                                                   "client_secret": "demo-secret"})
    assert resp.status == 401
    f = tmp_path / "clients.json"
    f.write_text('[{"client_id": "carol", "client_secret": "s3"}]')
    cfg = EmulatorConfig.from_env({"SH_EMULATOR_CLIENTS_FILE": str(f), "SH_EMULATOR_TOKEN_TTL": "60",
                                   "SH_EMULATOR_RATE_LIMIT_REQUESTS": "5"})
    assert cfg.clients == {"carol": "s3"} and cfg.token_ttl == 60 and cfg.rate_limit_requests_per_minute == 5


async def test_missing_forged_and_expired_tokens_get_401(make_emu):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # before the 2 s token clock starts
    emu = await make_emu(token_ttl=2)
    body = process_body()
    resp = await emu.client.post("/api/v1/process", json=body)
    await sh_error(resp, 401, "COMMON_UNAUTHORIZED")
    token = await emu.get_token()
    claims = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)
    forged = jwt.encode({**claims, "exp": int(time.time()) + 3600}, other, algorithm="RS256",
                        headers={"kid": header["kid"]})
    resp = await emu.client.post("/api/v1/process", json=body, headers={"Authorization": f"Bearer {forged}"})
    await sh_error(resp, 401, "COMMON_UNAUTHORIZED")
    none_alg = jwt.encode({**claims, "exp": int(time.time()) + 3600}, None, algorithm="none")
    resp = await emu.client.post("/api/v1/process", json=body, headers={"Authorization": f"Bearer {none_alg}"})
    await sh_error(resp, 401)
    resp = await emu.client.post("/api/v1/process", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    await asyncio.sleep(3.1)
    resp = await emu.client.post("/api/v1/process", json=body, headers={"Authorization": f"Bearer {token}"})
    err = await sh_error(resp, 401, "COMMON_UNAUTHORIZED")
    assert "expired" in err["message"].lower()


async def test_expire_tokens_forces_refresh(emu):
    body = process_body()
    assert (await emu.process(body)).status == 200
    assert (await emu.client.post("/_emulator/expire-tokens")).status == 204
    await sh_error(await emu.process(body), 401)
    emu.token = None  # refresh
    assert (await emu.process(body)).status == 200


async def test_revoking_a_clients_tokens_and_calls_counted_per_client(make_emu):
    emu = await make_emu(clients={"alice": "a-secret", "backend": "b-secret"})
    body = process_body()
    alice_old = await emu.get_token("alice", "a-secret")
    backend = await emu.get_token("backend", "b-secret")
    as_alice = {"Authorization": f"Bearer {alice_old}"}
    assert (await emu.client.post("/api/v1/process", json=body, headers=as_alice)).status == 200
    assert (await emu.client.post("/_emulator/revoke-tokens", json={"client_id": "alice"})).status == 204
    err = await sh_error(await emu.client.post("/api/v1/process", json=body, headers=as_alice), 401)
    assert "revoked" in err["message"].lower()
    # other clients' tokens and alice's new tokens work
    assert (await emu.client.post("/api/v1/process", json=body,
                                  headers={"Authorization": f"Bearer {backend}"})).status == 200
    alice_new = await emu.get_token("alice", "a-secret")
    assert (await emu.client.post("/api/v1/process", json=body,
                                  headers={"Authorization": f"Bearer {alice_new}"})).status == 200
    assert (await emu.client.post("/_emulator/revoke-tokens", json={})).status == 400
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["api_calls_by_client"] == {"alice": {"process 200": 2, "process 401": 1},
                                            "backend": {"process 200": 1}}
    assert stats["api_in_flight"] == 0


async def test_requests_being_answered_are_counted_in_flight(emu):
    body = process_body()
    assert (await emu.client.post("/_emulator/faults", json={"delay_ms": 600, "count": 1})).status == 201
    pending = asyncio.create_task(emu.process(body))
    await asyncio.sleep(0.3)
    assert (await (await emu.client.get("/_emulator/stats")).json())["api_in_flight"] == 1
    assert (await emu.client.delete("/_emulator/stats")).status == 204  # a reset keeps it
    assert (await (await emu.client.get("/_emulator/stats")).json())["api_in_flight"] == 1
    assert (await pending).status == 200
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["api_in_flight"] == 0 and stats["statuses"]["process 200"] == 1
