"""Bare JWT bearer tokens (openEO API 1.3 style: `Authorization: Bearer <jwt>`).

The token's (unverified) issuer picks the verifier: a configured OIDC provider with that issuer,
otherwise the Sentinel Hub (basic) verifier, which then checks the signature and claims itself.
"""

from __future__ import annotations

import jwt

from backend_proto.v1 import common_pb2
from gateway.auth.basic import BasicAuth
from gateway.auth.oidc import OidcAuth
from gateway.errors import api_error


class PlainJwtVerifier:
    def __init__(self, basic: BasicAuth, oidc: OidcAuth | None):
        self.basic = basic
        self.oidc = oidc

    async def verify_plain(self, token: str) -> common_pb2.User:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss", "")
        except jwt.PyJWTError:
            raise api_error("TokenInvalid", "The access token is malformed.") from None
        provider = self.oidc.provider_for_issuer(str(issuer)) if self.oidc and issuer else None
        if provider is not None:
            return await self.oidc.verify(provider.id, token)
        return await self.basic.verify("", token)
