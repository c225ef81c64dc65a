"""Basic login against the fake Sentinel Hub IdP and `basic//` bearer token verification."""

from __future__ import annotations

import asyncio
import base64

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.gateway.idp import CLIENT_ID, CLIENT_SECRET


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_basic_login_returns_sh_token_usable_as_bearer(client, idp):
    resp = await client.get("/credentials/basic", headers=basic(CLIENT_ID, CLIENT_SECRET))
    assert resp.status == 200
    token = (await resp.json())["access_token"]
    me = await client.get("/me", headers={"Authorization": f"Bearer basic//{token}"})
    assert me.status == 200
    body = await me.json()
    assert body["user_id"] == f"basic~sub-{CLIENT_ID}"
    assert "links" in body and body["default_plan"]


async def test_basic_login_bad_credentials(client):
    resp = await client.get("/credentials/basic", headers=basic(CLIENT_ID, "wrong"))
    assert resp.status == 403
    assert (await resp.json())["code"] == "CredentialsInvalid"


async def test_basic_login_without_credentials(client):
    resp = await client.get("/credentials/basic")
    assert resp.status == 401
    assert (await resp.json())["code"] == "AuthenticationRequired"
    garbled = await client.get("/credentials/basic", headers={"Authorization": "Basic !!!notbase64"})
    assert garbled.status == 403 and (await garbled.json())["code"] == "CredentialsInvalid"


async def test_basic_login_idp_down_is_503(make_client):
    c = await make_client(sh_token_url="http://127.0.0.1:9/token")
    resp = await c.get("/credentials/basic", headers=basic(CLIENT_ID, CLIENT_SECRET))
    assert resp.status == 503
    assert (await resp.json())["code"] == "ServiceUnavailable"


async def test_user_sh_token_is_forwarded(client, fakes, idp):
    token = idp.token(sub="alice")
    resp = await client.get("/jobs", headers={"Authorization": f"Bearer basic//{token}"})
    assert resp.status == 200
    _, request = fakes.store.calls[-1]
    assert request.user.user_id == "basic~alice"
    assert request.user.auth_method == "basic"
    assert request.user.sh_access_token == token


async def test_missing_token(client):
    resp = await client.get("/me")
    assert resp.status == 401
    assert (await resp.json())["code"] == "AuthenticationRequired"


async def test_expired_token(client, idp):
    resp = await client.get("/me", headers={"Authorization": "Bearer basic//" + idp.token(exp_in=-3600)})
    assert resp.status == 403
    body = await resp.json()
    assert body["code"] == "TokenInvalid" and "expired" in body["message"]


async def test_forged_token_signed_by_other_key(client, idp):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    resp = await client.get("/me", headers={"Authorization": "Bearer basic//" + idp.token(key=other)})
    assert resp.status == 403
    assert (await resp.json())["code"] == "TokenInvalid"


async def test_tampered_payload(client, idp):
    header, payload, signature = idp.token().split(".")
    tampered = ".".join([header, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])
    resp = await client.get("/me", headers={"Authorization": "Bearer basic//" + tampered})
    assert resp.status == 403 and (await resp.json())["code"] == "TokenInvalid"


async def test_garbage_and_unknown_scheme(client):
    for header, code in [
        ("Bearer basic//not-a-jwt", "TokenInvalid"),
        ("Bearer justatoken", "TokenInvalid"),
        ("Bearer foo/bar/baz", "AuthenticationSchemeInvalid"),
        ("Bearer oidc/egi/abc", "AuthenticationSchemeInvalid"),
        ("Digest abc", "AuthenticationSchemeInvalid"),
    ]:
        resp = await client.get("/me", headers={"Authorization": header})
        assert resp.status == 403, header
        assert (await resp.json())["code"] == code, header


async def test_jwks_is_cached_and_refetched_for_new_kid_rate_limited(client, idp):
    headers = {"Authorization": "Bearer basic//" + idp.token()}
    for _ in range(3):
        assert (await client.get("/me", headers=headers)).status == 200
    assert idp.jwks_requests == 1
    # Key rotation: a new kid appears at the issuer.
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.extra_keys["k2"] = new_key
    rotated = {"Authorization": "Bearer basic//" + idp.token(key=new_key, kid="k2")}
    await asyncio.sleep(0.6)  # > jwks_min_refresh_seconds
    assert (await client.get("/me", headers=rotated)).status == 200
    assert idp.jwks_requests == 2
    # Unknown kids do not hammer the issuer: at most one refetch per interval.
    unknown = {"Authorization": "Bearer basic//" + idp.token(key=new_key, kid="k-unknown")}
    for _ in range(5):
        assert (await client.get("/me", headers=unknown)).status == 403
    assert idp.jwks_requests == 2
