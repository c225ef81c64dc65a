"""The provider's HTTP endpoints (aiohttp)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

from oidc_test_provider.config import ProviderConfig
from oidc_test_provider.keys import SigningKey

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class DeviceRequest:
    client_id: str
    scope: str
    code_challenge: str | None
    user_code: str
    expires: float
    approved_sub: str | None = None
    polls: int = 0


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return True
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


class Provider:
    def __init__(self, config: ProviderConfig):
        self.config = config
        self.key = SigningKey()
        self.devices: dict[str, DeviceRequest] = {}
        self.refresh_tokens: dict[str, tuple[str, str, str]] = {}  # token -> (client, sub, scope)

    # ---- helpers ----
    def _client(self, form) -> tuple[str | None, web.Response | None]:
        client_id = form.get("client_id")
        client = self.config.clients.get(client_id or "")
        if client is None:
            return None, _error(401, "invalid_client", "Unknown client.")
        if client.secret is not None and form.get("client_secret") != client.secret:
            return None, _error(401, "invalid_client", "Bad client credentials.")
        return client_id, None

    def _tokens(self, client_id: str, sub: str, scope: str, *, refresh: bool) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.config.issuer,
            "sub": sub,
            "aud": self.config.audience or client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + self.config.token_ttl,
            "scope": scope,
            "jti": secrets.token_hex(8),
            **self.config.claims.get(sub, {}),
        }
        body = {"access_token": self.key.sign(claims), "token_type": "Bearer", "expires_in": self.config.token_ttl, "scope": scope}
        if "openid" in scope.split():
            body["id_token"] = self.key.sign({**claims, "aud": client_id})
        if refresh:
            token = secrets.token_urlsafe(32)
            self.refresh_tokens[token] = (client_id, sub, scope)
            body["refresh_token"] = token
        return body

    # ---- endpoints ----
    async def discovery(self, request: web.Request) -> web.Response:
        issuer = self.config.issuer
        return web.json_response(
            {
                "issuer": issuer,
                "jwks_uri": issuer + "/jwks",
                "token_endpoint": issuer + "/token",
                "device_authorization_endpoint": issuer + "/device_authorization",
                "userinfo_endpoint": issuer + "/userinfo",
                "authorization_endpoint": issuer + "/authorize",
                "grant_types_supported": ["client_credentials", DEVICE_GRANT, "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile", "offline_access", "eduperson_entitlement"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        )

    async def jwks(self, request: web.Request) -> web.Response:
        return web.json_response(self.key.jwks())

    async def device_authorization(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, problem = self._client(form)
        if problem:
            return problem
        device_code = secrets.token_urlsafe(24)
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        self.devices[device_code] = DeviceRequest(
            client_id=client_id,
            scope=form.get("scope", "openid"),
            code_challenge=form.get("code_challenge"),
            user_code=user_code,
            expires=time.time() + 300,
        )
        return web.json_response(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": self.config.issuer + "/device",
                "verification_uri_complete": f"{self.config.issuer}/device?user_code={user_code}",
                "expires_in": 300,
                "interval": self.config.device_interval,
            }
        )

    async def approve_device(self, request: web.Request) -> web.Response:
        """What the user does in the browser: approve a user code as subject `sub`."""
        form = await request.post()
        user_code, sub = form.get("user_code"), form.get("sub")
        for device in self.devices.values():
            if device.user_code == user_code and sub:
                device.approved_sub = sub
                return web.json_response({"approved": True})
        return _error(400, "invalid_request", "Unknown user code.")

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = form.get("grant_type")
        client_id, problem = self._client(form)
        if problem:
            return problem
        if grant == "client_credentials":
            if self.config.clients[client_id].secret is None:
                return _error(400, "unauthorized_client", "Public clients cannot use client credentials.")
            return web.json_response(self._tokens(client_id, f"service-account-{client_id}", form.get("scope", "openid"), refresh=False))
        if grant == DEVICE_GRANT:
            device = self.devices.get(form.get("device_code", ""))
            if device is None or device.client_id != client_id or device.expires < time.time():
                return _error(400, "expired_token", "Unknown or expired device code.")
            if not _pkce_ok(device.code_challenge, form.get("code_verifier")):
                return _error(400, "invalid_grant", "PKCE verification failed.")
            device.polls += 1
            if device.approved_sub is None and self.config.auto_approve_sub and device.polls >= 1:
                device.approved_sub = self.config.auto_approve_sub
            if device.approved_sub is None:
                return _error(400, "authorization_pending", "The user has not approved yet.")
            del self.devices[form["device_code"]]
            return web.json_response(self._tokens(client_id, device.approved_sub, device.scope, refresh=True))
        if grant == "refresh_token":
            entry = self.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or entry[0] != client_id:
                return _error(400, "invalid_grant", "Unknown refresh token.")
            return web.json_response(self._tokens(client_id, entry[1], entry[2], refresh=True))
        return _error(400, "unsupported_grant_type", f"Grant {grant!r} is not supported.")

    async def userinfo(self, request: web.Request) -> web.Response:
        import jwt

        auth = request.headers.get("Authorization", "")
        try:
            claims = jwt.decode(
                auth.removeprefix("Bearer "), self.key.private_key.public_key(), algorithms=["RS256"],
                options={"verify_aud": False},
            )
        except jwt.PyJWTError:
            return _error(401, "invalid_token", "Bad token.")
        return web.json_response({"sub": claims["sub"], **self.config.claims.get(claims["sub"], {})})


PROVIDER = web.AppKey("provider", Provider)


def create_app(config: ProviderConfig) -> web.Application:
    provider = Provider(config)
    app = web.Application()
    app[PROVIDER] = provider
    app.router.add_get("/.well-known/openid-configuration", provider.discovery)
    app.router.add_get("/jwks", provider.jwks)
    app.router.add_post("/device_authorization", provider.device_authorization)
    app.router.add_post("/device", provider.approve_device)
    app.router.add_post("/token", provider.token)
    app.router.add_get("/userinfo", provider.userinfo)
    return app
