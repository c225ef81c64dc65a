"""HTTP Basic login with Sentinel Hub client credentials, and `basic//` bearer token checks.

- `login(client_id, secret)`: client-credentials grant at SH_TOKEN_URL -> Sentinel Hub token.
- `verify(provider, token)`: RS256 signature against the issuer's JWKS, `exp` (+`iss` when
  SH_TOKEN_ISSUER is set); the user is `basic:<sub>` and Sentinel Hub calls use the token itself.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import jwt

from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2
from gateway.auth.jwks import JwksCache
from gateway.auth.user_ids import user_id
from gateway.auth.verified_tokens import VerifiedTokens
from gateway.errors import api_error

log = get_logger(__name__)


class BasicAuth:
    def __init__(self, *, token_url: str, jwks: JwksCache, session_getter, issuer: str = "", leeway: float = 10.0):
        self.token_url = token_url
        self.jwks = jwks
        self._session_getter = session_getter
        self.issuer = issuer
        self.leeway = leeway
        self.verified = VerifiedTokens()

    async def login(self, client_id: str, client_secret: str) -> str:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        try:
            session: aiohttp.ClientSession = self._session_getter()
            async with session.post(self.token_url, data=form) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as err:
            log.warning("sh_token_request_failed", error=str(err))
            raise api_error("ServiceUnavailable", "The authentication service is temporarily unavailable.") from None
        if status in (400, 401, 403):
            raise api_error("CredentialsInvalid", "Credentials are not correct: Sentinel Hub refused the client id/secret.")
        if status != 200:
            log.warning("sh_token_request_failed", status=status)
            raise api_error("ServiceUnavailable", "The authentication service is temporarily unavailable.")
        try:
            token = json.loads(body)["access_token"]
        except (ValueError, KeyError, TypeError):
            log.warning("sh_token_response_invalid")
            raise api_error("ServiceUnavailable", "The authentication service answered unexpectedly.") from None
        if not isinstance(token, str) or not token:
            raise api_error("ServiceUnavailable", "The authentication service answered unexpectedly.")
        return token

    async def verify(self, provider: str, token: str) -> common_pb2.User:
        if provider:
            raise api_error("TokenInvalid", "Basic tokens have no provider: use 'basic//<token>'.")
        known = self.verified.get(token)
        if known is not None:
            return known
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise api_error("TokenInvalid", "The access token is malformed.") from None
        if header.get("alg") != "RS256":
            raise api_error("TokenInvalid", "The access token is not signed with RS256.")
        key = await self.jwks.key_for(header.get("kid"))
        if key is None:
            raise api_error("TokenInvalid", "The access token was signed with an unknown key.")
        options = {"require": ["exp", "sub"], "verify_aud": False}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options=options,
                leeway=self.leeway,
                issuer=self.issuer or None,
            )
        except jwt.ExpiredSignatureError:
            raise api_error("TokenInvalid", "The access token has expired. Please authenticate again.") from None
        except jwt.PyJWTError:
            raise api_error("TokenInvalid", "The access token is invalid. Please authenticate again.") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise api_error("TokenInvalid", "The access token has no subject.")
        name = claims.get("name") or claims.get("preferred_username") or ""
        user = common_pb2.User(
            user_id=user_id("basic", sub), auth_method="basic", sh_access_token=token, name=str(name)
        )
        if isinstance(claims.get("exp"), (int, float)):
            self.verified.put(token, user, claims["exp"])
        return user
