"""Browser login against the OIDC test provider: CORS on the endpoints a browser reads, and the
authorization-code flow with PKCE (S256), its refusals included."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from oidc_test_provider.app import create_app
from oidc_test_provider.config import ProviderConfig, from_env, parse_clients

ISSUER = "http://issuer.test"
EDITOR = "https://editor.openeo.org/"
ORIGIN = "https://editor.openeo.org"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def make_client(auto_approve_sub: str = "alice") -> TestClient:
    config = ProviderConfig(
        issuer=ISSUER,
        clients=parse_clients("svc:s3cret,public"),
        auto_approve_sub=auto_approve_sub,
        redirect_uris=(EDITOR, "http://localhost:1410/"),
    )
    return TestClient(TestServer(create_app(config)))


@pytest.fixture
async def client():
    async with await make_client() as test_client:
        yield test_client


async def authorize(client, **overrides) -> tuple[int, dict, str]:
    """GET /authorize as a browser navigation, redirect not followed: (status, query of Location, Location)."""
    params = {
        "response_type": "code",
        "client_id": "public",
        "redirect_uri": EDITOR,
        "scope": "openid offline_access",
        "state": "st-123",
        "nonce": "n-456",
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    resp = await client.get("/authorize", params=params, allow_redirects=False)
    location = resp.headers.get("Location", "")
    return resp.status, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}, location


async def code_for(client, challenge: str, **overrides) -> str:
    status, query, location = await authorize(client, code_challenge=challenge, code_challenge_method="S256", **overrides)
    assert status == 302, location
    return query["code"]


def exchange_form(code: str, verifier: str, **overrides) -> dict:
    form = {"grant_type": "authorization_code", "client_id": "public", "code": code, "redirect_uri": EDITOR, "code_verifier": verifier}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


async def test_discovery_lists_the_code_flow(client):
    doc = await (await client.get("/.well-known/openid-configuration")).json()
    assert doc["authorization_endpoint"] == ISSUER + "/authorize"
    assert "authorization_code" in doc["grant_types_supported"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "none" in doc["token_endpoint_auth_methods_supported"]


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
async def test_cross_origin_reads_reflect_the_origin(client, path):
    resp = await client.get(path, headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in resp.headers["Vary"]
    plain = await client.get(path)
    assert "Access-Control-Allow-Origin" not in plain.headers


async def test_token_endpoint_preflight_and_cross_origin_answers(client):
    preflight = await client.options(
        "/token",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    # An error of the token endpoint is readable too, so the browser client can show it.
    refused = await client.post("/token", data={"grant_type": "authorization_code", "client_id": "nobody"}, headers={"Origin": ORIGIN})
    assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    # A preflight for a method the endpoint does not take is refused.
    wrong = await client.options("/token", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert wrong.status == 405 and "Access-Control-Allow-Origin" not in wrong.headers


async def test_userinfo_preflight_allows_the_authorization_header(client):
    preflight = await client.options(
        "/userinfo", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    )
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()


async def test_authorization_endpoint_is_a_navigation_without_cors(client):
    _, challenge = pkce_pair()
    resp = await client.get(
        "/authorize",
        params={"response_type": "code", "client_id": "public", "redirect_uri": EDITOR, "code_challenge": challenge, "code_challenge_method": "S256"},
        headers={"Origin": ORIGIN},
        allow_redirects=False,
    )
    assert resp.status == 302 and "Access-Control-Allow-Origin" not in resp.headers


async def test_code_flow_with_pkce_end_to_end(client):
    verifier, challenge = pkce_pair()
    status, query, location = await authorize(client, code_challenge=challenge, code_challenge_method="S256")
    assert status == 302 and location.startswith(EDITOR + "?")
    assert query["state"] == "st-123" and query["code"]
    resp = await client.post("/token", data=exchange_form(query["code"], verifier), headers={"Origin": ORIGIN})
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Cache-Control"] == "no-store"
    tokens = await resp.json()
    jwks = await (await client.get("/jwks")).json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    access = jwt.decode(tokens["access_token"], key, algorithms=["RS256"], audience="public", issuer=ISSUER)
    assert access["sub"] == "alice" and access["azp"] == "public"
    id_token = jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience="public", issuer=ISSUER)
    assert id_token["nonce"] == "n-456"
    userinfo = await client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"], "Origin": ORIGIN})
    assert (await userinfo.json())["sub"] == "alice" and userinfo.headers["Access-Control-Allow-Origin"] == ORIGIN
    refreshed = await client.post(
        "/token", data={"grant_type": "refresh_token", "client_id": "public", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status == 200


async def test_loopback_redirect_on_any_port_and_editor_without_slash(client):
    _, challenge = pkce_pair()
    for uri in ["http://localhost:5173/", "https://editor.openeo.org"]:
        status, query, location = await authorize(client, redirect_uri=uri, code_challenge=challenge, code_challenge_method="S256")
        assert status == 302 and location.startswith(uri) and "code" in query


async def test_wrong_verifier_is_refused_and_burns_the_code(client):
    verifier, challenge = pkce_pair()
    code = await code_for(client, challenge)
    wrong = await client.post("/token", data=exchange_form(code, pkce_pair()[0]))
    assert wrong.status == 400 and (await wrong.json())["error"] == "invalid_grant"
    missing = await client.post("/token", data=exchange_form(await code_for(client, challenge), None))
    assert missing.status == 400 and (await missing.json())["error"] == "invalid_grant"
    # The refused attempt used the code up: even the right verifier no longer works.
    again = await client.post("/token", data=exchange_form(code, verifier))
    assert again.status == 400 and (await again.json())["error"] == "invalid_grant"


async def test_code_cannot_be_reused(client):
    verifier, challenge = pkce_pair()
    code = await code_for(client, challenge)
    first = await client.post("/token", data=exchange_form(code, verifier))
    assert first.status == 200
    second = await client.post("/token", data=exchange_form(code, verifier))
    assert second.status == 400 and (await second.json())["error"] == "invalid_grant"


async def test_redirect_uri_must_match_the_authorization_request(client):
    verifier, challenge = pkce_pair()
    code = await code_for(client, challenge)
    resp = await client.post("/token", data=exchange_form(code, verifier, redirect_uri="http://localhost:1410/"))
    assert resp.status == 400 and "redirect_uri" in (await resp.json())["error_description"]


async def test_unknown_client_and_code_of_another_client(client):
    verifier, challenge = pkce_pair()
    code = await code_for(client, challenge)
    unknown = await client.post("/token", data=exchange_form(code, verifier, client_id="intruder"))
    assert unknown.status == 401 and (await unknown.json())["error"] == "invalid_client"
    other = await client.post("/token", data=exchange_form(code, verifier, client_id="svc", client_secret="s3cret"))
    assert other.status == 400 and (await other.json())["error"] == "invalid_grant"


async def test_authorize_never_redirects_to_an_unregistered_uri_or_for_an_unknown_client(client):
    _, challenge = pkce_pair()
    for overrides in [
        {"redirect_uri": "https://evil.example/"},
        {"redirect_uri": "https://editor.openeo.org.evil.example/"},
        {"redirect_uri": None},
        {"client_id": "intruder"},
    ]:
        status, _, location = await authorize(client, code_challenge=challenge, code_challenge_method="S256", **overrides)
        assert status == 400 and location == "", overrides


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),  # public client without PKCE
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
)
async def test_authorize_errors_go_back_to_the_client_with_state(client, overrides, error):
    _, challenge = pkce_pair()
    params = {"code_challenge": challenge, "code_challenge_method": "S256", **overrides}
    status, query, location = await authorize(client, **params)
    assert status == 302 and location.startswith(EDITOR)
    assert query["error"] == error and query["state"] == "st-123" and "code" not in query


async def test_without_auto_approval_login_is_required():
    async with await make_client(auto_approve_sub="") as client:
        _, challenge = pkce_pair()
        status, query, _ = await authorize(client, code_challenge=challenge, code_challenge_method="S256")
        assert status == 302 and query["error"] == "login_required"


async def test_redirect_uris_from_the_environment(monkeypatch):
    monkeypatch.setenv("OIDC_TEST_REDIRECT_URIS", "https://a.example/cb, http://localhost:9/")
    assert from_env(ISSUER).redirect_uris == ("https://a.example/cb", "http://localhost:9/")
    monkeypatch.delenv("OIDC_TEST_REDIRECT_URIS")
    assert "https://editor.openeo.org/" in from_env(ISSUER).redirect_uris
