"""OpenID Connect bearer tokens: `oidc/<provider>/<access token>`.

Providers come from configuration (`OIDC_PROVIDERS`, a JSON list; see `parse_providers`).
Access tokens that are JWTs are validated locally: signature against the provider's JWKS
(discovered from `<issuer>/.well-known/openid-configuration`, cached, refetched on an unknown
`kid`), issuer, audience where configured, expiry. The userinfo endpoint is asked only when the
token is not a JWT or lacks a claim the entitlement rule needs; answers are cached until the
token expires. An optional entitlement rule (e.g. EGI `eduperson_entitlement` in a VO) decides
access. OIDC users get the backend's own Sentinel Hub account (empty `sh_access_token`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, field

import aiohttp
import jwt

from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2
from gateway.auth.jwks import JwksCache
from gateway.auth.user_ids import user_id
from gateway.errors import api_error

log = get_logger(__name__)


@dataclass(frozen=True)
class EntitlementRule:
    """Access requires one value of `claim` to match one of `patterns` (regular expressions)."""

    claim: str
    patterns: tuple[str, ...]

    def allows(self, value) -> bool:
        values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        return any(re.fullmatch(p, str(v)) for p in self.patterns for v in values)


@dataclass(frozen=True)
class OidcProvider:
    id: str
    issuer: str
    title: str
    scopes: tuple[str, ...] = ("openid",)
    description: str = ""
    default_clients: tuple[dict, ...] = ()
    # Accepted `aud` values; empty = audience not checked.
    audiences: tuple[str, ...] = ()
    entitlement: EntitlementRule | None = None
    discovery_url: str = ""

    def public_info(self) -> dict:
        """The provider as listed at GET /credentials/oidc."""
        info = {"id": self.id, "issuer": self.issuer, "title": self.title, "scopes": list(self.scopes)}
        if self.description:
            info["description"] = self.description
        if self.default_clients:
            info["default_clients"] = [dict(c) for c in self.default_clients]
        info["links"] = []
        return info


def parse_providers(text: str) -> list[OidcProvider]:
    """Providers from JSON: `[{"id", "issuer", "title", "scopes"?, "description"?,
    "default_clients"?, "audience"? (string or list), "entitlement"?: {"claim", "patterns"}}]`."""
    if not text or not text.strip():
        return []
    providers = []
    for item in json.loads(text):
        rule = item.get("entitlement")
        audience = item.get("audience") or []
        providers.append(
            OidcProvider(
                id=item["id"],
                issuer=item["issuer"].rstrip("/"),
                title=item.get("title", item["id"]),
                scopes=tuple(item.get("scopes", ["openid"])),
                description=item.get("description", ""),
                default_clients=tuple(item.get("default_clients", [])),
                audiences=tuple([audience] if isinstance(audience, str) else audience),
                entitlement=EntitlementRule(rule["claim"], tuple(rule["patterns"])) if rule else None,
                discovery_url=item.get("discovery_url", ""),
            )
        )
    return providers


@dataclass
class _ProviderState:
    jwks: JwksCache | None = None
    userinfo_url: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OidcAuth:
    """The verifier registered for the `oidc` bearer method."""

    def __init__(self, providers: list[OidcProvider], session_getter, *, leeway: float = 10.0):
        self.providers = {p.id: p for p in providers}
        self._session_getter = session_getter
        self.leeway = leeway
        self._state = {p.id: _ProviderState() for p in providers}
        self._userinfo_cache: dict[str, tuple[float, dict]] = {}

    def provider_for_issuer(self, issuer: str) -> OidcProvider | None:
        issuer = issuer.rstrip("/")
        return next((p for p in self.providers.values() if p.issuer == issuer), None)

    async def _discover(self, provider: OidcProvider) -> _ProviderState:
        state = self._state[provider.id]
        async with state.lock:
            if state.jwks is not None:
                return state
            url = provider.discovery_url or provider.issuer + "/.well-known/openid-configuration"
            try:
                async with self._session_getter().get(url) as resp:
                    if resp.status != 200:
                        raise ValueError(f"discovery answered {resp.status}")
                    document = json.loads(await resp.read())
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError) as err:
                log.warning("oidc_discovery_failed", provider=provider.id, error=str(err))
                raise api_error("ServiceUnavailable", "The OpenID Connect provider is not reachable.") from None
            state.jwks = JwksCache(document["jwks_uri"], self._session_getter)
            state.userinfo_url = document.get("userinfo_endpoint")
            return state

    async def verify(self, provider_id: str, token: str) -> common_pb2.User:
        provider = self.providers.get(provider_id)
        if provider is None:
            raise api_error("AuthenticationSchemeInvalid", f"OpenID Connect provider '{provider_id}' is not supported.")
        state = await self._discover(provider)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            header = None
        if header is None:
            claims = await self._userinfo(state, token, ttl=300.0)
        else:
            claims = await self._verify_jwt(provider, state, token, header)
        if provider.entitlement is not None:
            if provider.entitlement.claim not in claims:
                extra = await self._userinfo(state, token, ttl=max(1.0, claims.get("exp", time.time() + 300) - time.time()))
                claims = {**extra, **claims}
            if not provider.entitlement.allows(claims.get(provider.entitlement.claim)):
                raise api_error(
                    "PermissionsInsufficient",
                    f"Your account has no entitlement for this backend at provider '{provider.id}'.",
                    403,
                )
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise api_error("TokenInvalid", "The access token has no subject.")
        name = claims.get("name") or claims.get("preferred_username") or claims.get("email") or ""
        return common_pb2.User(user_id=user_id("oidc", provider.id, sub), auth_method="oidc", name=str(name))

    async def _verify_jwt(self, provider: OidcProvider, state: _ProviderState, token: str, header: dict) -> dict:
        if header.get("alg") not in ("RS256", "RS384", "RS512", "ES256", "PS256"):
            raise api_error("TokenInvalid", "The access token uses an unsupported signature algorithm.")
        assert state.jwks is not None
        key = await state.jwks.key_for(header.get("kid"))
        if key is None:
            raise api_error("TokenInvalid", "The access token was signed with an unknown key.")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                issuer=provider.issuer,
                audience=list(provider.audiences) or None,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "sub"], "verify_aud": bool(provider.audiences)},
            )
        except jwt.ExpiredSignatureError:
            raise api_error("TokenInvalid", "The access token has expired. Please authenticate again.") from None
        except jwt.InvalidIssuerError:
            raise api_error("TokenInvalid", "The access token was issued by another provider.") from None
        except jwt.InvalidAudienceError:
            raise api_error("TokenInvalid", "The access token is not meant for this backend (audience).") from None
        except jwt.PyJWTError:
            raise api_error("TokenInvalid", "The access token is invalid. Please authenticate again.") from None

    async def _userinfo(self, state: _ProviderState, token: str, *, ttl: float) -> dict:
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._userinfo_cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        if not state.userinfo_url:
            raise api_error("TokenInvalid", "The access token cannot be verified.")
        try:
            async with self._session_getter().get(
                state.userinfo_url, headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                if resp.status in (401, 403):
                    raise api_error("TokenInvalid", "The access token was refused by the provider.")
                if resp.status != 200:
                    raise ValueError(f"userinfo answered {resp.status}")
                claims = json.loads(await resp.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError) as err:
            log.warning("oidc_userinfo_failed", error=str(err))
            raise api_error("ServiceUnavailable", "The OpenID Connect provider is not reachable.") from None
        if len(self._userinfo_cache) > 10_000:
            self._userinfo_cache.clear()
        self._userinfo_cache[digest] = (now + ttl, claims)
        return claims
