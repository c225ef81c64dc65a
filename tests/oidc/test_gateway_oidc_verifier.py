"""gateway.auth.oidc against the real OIDC test provider (in-process HTTP servers)."""

from __future__ import annotations

import json
import time

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestServer

from backend_common.errors import OpenEOError
from gateway.auth.oidc import OidcAuth, parse_providers
from oidc_test_provider.app import PROVIDER, create_app
from oidc_test_provider.config import ProviderConfig, parse_clients


async def start_provider(**overrides):
    """A provider whose issuer is its own URL (known only after the server binds)."""
    config = ProviderConfig(issuer="http://placeholder", clients=parse_clients("svc:secret,other:secret"), **overrides)
    server = TestServer(create_app(config))
    await server.start_server()
    config.issuer = str(server.make_url("")).rstrip("/")
    return server, server.app[PROVIDER]


@pytest.fixture
async def providers():
    servers = [await start_provider(), await start_provider(claims={"service-account-svc": {"eduperson_entitlement": ["urn:vo:openeo#member"]}})]
    session = aiohttp.ClientSession()
    yield servers, session
    await session.close()
    for server, _ in servers:
        await server.close()


async def token_from(provider, client_id="svc") -> str:
    return provider._tokens(client_id, f"service-account-{client_id}", "openid", refresh=False)["access_token"]


def auth_for(providers_json, session) -> OidcAuth:
    return OidcAuth(parse_providers(providers_json), lambda: session)


def config(issuer, **extra) -> dict:
    return {"id": extra.pop("id", "p"), "issuer": issuer, "title": "P", **extra}


async def test_valid_token_maps_to_stable_user(providers):
    (_, provider), _ = providers[0]
    session = providers[1]
    auth = auth_for(json.dumps([config(provider.config.issuer, audience="svc")]), session)
    user = await auth.verify("p", await token_from(provider))
    assert user.user_id == "oidc~p~service-account-svc" and user.auth_method == "oidc" and user.sh_access_token == ""
    again = await auth.verify("p", await token_from(provider))
    assert again.user_id == user.user_id


@pytest.mark.parametrize("problem", ["issuer", "audience", "signature", "expiry", "provider"])
async def test_bad_tokens_are_refused(providers, problem):
    (_, first), (_, second) = providers[0]
    session = providers[1]
    auth = auth_for(json.dumps([config(first.config.issuer, audience="svc")]), session)
    token = await token_from(first)
    provider_id = "p"
    if problem == "issuer":
        token = await token_from(second)  # signed by the other provider, its own issuer
    elif problem == "audience":
        token = await token_from(first, client_id="other")
    elif problem == "signature":
        claims = jwt.decode(token, options={"verify_signature": False})
        token = jwt.encode(claims, second.key.private_key, algorithm="RS256", headers={"kid": first.key.kid})
    elif problem == "expiry":
        claims = jwt.decode(token, options={"verify_signature": False})
        claims.update(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
        token = first.key.sign(claims)
    elif problem == "provider":
        provider_id = "nope"
    with pytest.raises(OpenEOError) as info:
        await auth.verify(provider_id, token)
    assert info.value.status == 403
    assert info.value.code == ("AuthenticationSchemeInvalid" if problem == "provider" else "TokenInvalid")


async def test_entitlement_rule(providers):
    (_, first), (_, second) = providers[0]
    session = providers[1]
    rule = {"claim": "eduperson_entitlement", "patterns": [r"urn:vo:openeo#.*"]}
    entitled = auth_for(json.dumps([config(second.config.issuer, entitlement=rule)]), session)
    assert (await entitled.verify("p", await token_from(second))).user_id.startswith("oidc~p~")
    not_entitled = auth_for(json.dumps([config(first.config.issuer, entitlement=rule)]), session)
    with pytest.raises(OpenEOError) as info:
        await not_entitled.verify("p", await token_from(first))
    assert (info.value.status, info.value.code) == (403, "PermissionsInsufficient")


def test_public_info_lists_default_clients():
    providers = parse_providers(
        '[{"id": "egi", "issuer": "https://aai.egi.eu/auth/realms/egi/", "title": "EGI Check-in",'
        ' "scopes": ["openid", "email", "eduperson_entitlement"],'
        ' "default_clients": [{"id": "openeo-platform-default-client", "grant_types":'
        ' ["urn:ietf:params:oauth:grant-type:device_code+pkce", "refresh_token"]}]}]'
    )
    info = providers[0].public_info()
    assert info["issuer"] == "https://aai.egi.eu/auth/realms/egi"
    assert info["default_clients"][0]["grant_types"][0].endswith("device_code+pkce")
