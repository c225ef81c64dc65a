"""Login: GET /credentials/basic (Sentinel Hub client credentials) and GET /credentials/oidc.

OIDC providers are pluggable: `app[OIDC_PROVIDERS]` is the list `GET /credentials/oidc` returns
(empty until `gateway/auth/oidc.py` registers providers and an "oidc" verifier).
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import hdrs, web

from gateway import routing
from gateway.auth.basic import BasicAuth
from gateway.errors import api_error
from gateway.http import json_response

BASIC = web.AppKey("basic_auth", BasicAuth)
OIDC_PROVIDERS = web.AppKey("oidc_providers", list)


def _basic_credentials(header: str | None) -> tuple[str, str]:
    if not header or not header.strip():
        raise api_error("AuthenticationRequired", "HTTP Basic credentials (Sentinel Hub client id and secret) are required.")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise api_error("AuthenticationSchemeInvalid", "Use HTTP Basic authentication on this endpoint.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise api_error("CredentialsInvalid", "The HTTP Basic credentials are malformed.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise api_error("CredentialsInvalid", "The HTTP Basic credentials are malformed.")
    return client_id, secret


async def basic_login(request: web.Request) -> web.Response:
    client_id, secret = _basic_credentials(request.headers.get(hdrs.AUTHORIZATION))
    token = await request.app[BASIC].login(client_id, secret)
    return json_response({"access_token": token})


async def oidc_providers(request: web.Request) -> web.Response:
    return json_response({"providers": list(request.app[OIDC_PROVIDERS])})


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/credentials/basic", basic_login)
    routing.add(app, "GET", "/credentials/oidc", oidc_providers)
