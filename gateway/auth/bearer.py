"""Bearer token parsing and dispatch to per-scheme verifiers."""

from __future__ import annotations

from typing import Protocol

from aiohttp import hdrs, web

from backend_proto.v1 import common_pb2
from gateway.errors import api_error


class TokenVerifier(Protocol):
    async def verify(self, provider: str, token: str) -> common_pb2.User:
        """The user the token belongs to; raise TokenInvalid (403) when it is not valid."""


class PlainTokenVerifier(Protocol):
    async def verify_plain(self, token: str) -> common_pb2.User:
        """The user of a bare token (no `<method>/<provider>/` prefix, as openEO API 1.3 allows)."""


class Authenticator:
    def __init__(self) -> None:
        self._verifiers: dict[str, TokenVerifier] = {}
        self._plain: PlainTokenVerifier | None = None

    def set_plain_token_verifier(self, verifier: PlainTokenVerifier) -> None:
        self._plain = verifier

    def register(self, method: str, verifier: TokenVerifier) -> None:
        self._verifiers[method] = verifier

    @property
    def methods(self) -> list[str]:
        return sorted(self._verifiers)

    async def authenticate(self, authorization: str | None) -> common_pb2.User | None:
        """None when there is no Authorization header; raises openEO errors for bad ones."""
        if not authorization or not authorization.strip():
            return None
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise api_error(
                "AuthenticationSchemeInvalid",
                "Authentication method not supported: use 'Authorization: Bearer basic//<token>'.",
            )
        credentials = credentials.strip()
        if "/" not in credentials and credentials.count(".") == 2 and self._plain is not None:
            return await self._plain.verify_plain(credentials)
        method, sep1, rest = credentials.partition("/")
        provider, sep2, token = rest.partition("/")
        if not (sep1 and sep2) or not method:
            raise api_error("TokenInvalid", "The bearer token must have the form '<method>/<provider>/<token>'.")
        verifier = self._verifiers.get(method.lower())
        if verifier is None:
            raise api_error("AuthenticationSchemeInvalid", f"Authentication method '{method}' is not supported.")
        if not token:
            raise api_error("TokenInvalid")
        return await verifier.verify(provider, token)


AUTH = web.AppKey("authenticator", Authenticator)
_USER = web.RequestKey("user", object) if hasattr(web, "RequestKey") else "user"


async def optional_user(request: web.Request) -> common_pb2.User | None:
    if _USER not in request:
        request[_USER] = await request.app[AUTH].authenticate(request.headers.get(hdrs.AUTHORIZATION))
    return request[_USER]


async def require_user(request: web.Request) -> common_pb2.User:
    user = await optional_user(request)
    if user is None:
        raise api_error("AuthenticationRequired", "Authentication required: send 'Authorization: Bearer basic//<token>'.")
    return user
