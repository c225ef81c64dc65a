"""The provider's HTTP endpoints (aiohttp)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from oidc_test_provider.config import ProviderConfig
from oidc_test_provider.keys import SigningKey

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_GRANT = "authorization_code"

# Endpoints a browser client reads with fetch/XHR from another origin (a real provider such as
# Keycloak answers these with CORS). The authorization endpoint is a page the browser navigates
# to, and the device endpoints are not used from browsers: they send no CORS headers.
CORS_PATHS = frozenset({"/.well-known/openid-configuration", "/jwks", "/token", "/userinfo"})
CORS_ALLOWED_HEADERS = "Authorization, Content-Type"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


@dataclass
class DeviceRequest:
    client_id: str
    scope: str
    code_challenge: str | None
    user_code: str
    expires: float
    approved_sub: str | None = None
    polls: int = 0


@dataclass
class CodeGrant:
    """An authorization code handed out by /authorize, waiting for its exchange at /token."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    nonce: str | None
    sub: str
    expires: float


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return True
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


def _redirect_uri_registered(uri: str, registered: tuple[str, ...]) -> bool:
    """Exact match (an empty path being "/", RFC 3986 6.2.3: the openEO JS client sends
    `https://editor.openeo.org` for a registered `https://editor.openeo.org/`), or for loopback
    redirect URIs the same scheme, host and path on any port (RFC 8252 7.3)."""
    parts = urlsplit(uri)
    if parts.fragment:
        return False
    normalized = parts._replace(path=parts.path or "/").geturl()
    if any(urlsplit(r)._replace(path=urlsplit(r).path or "/").geturl() == normalized for r in registered):
        return True
    if parts.scheme != "http" or parts.hostname is None:
        return False
    host = "[::1]" if parts.hostname == "::1" else parts.hostname
    if host not in LOOPBACK_HOSTS:
        return False
    for candidate in registered:
        reg = urlsplit(candidate)
        reg_host = "[::1]" if reg.hostname == "::1" else reg.hostname
        if reg.scheme == "http" and reg_host == host and (reg.path or "/") == (parts.path or "/"):
            return True
    return False


def _with_query(uri: str, params: dict) -> str:
    params = {k: v for k, v in params.items() if v is not None}
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params)


@web.middleware
async def cors(request: web.Request, handler) -> web.StreamResponse:
    """Cross-origin reads of discovery, JWKS, token and userinfo, with preflight."""
    origin = request.headers.get("Origin")
    if request.path not in CORS_PATHS:
        return await handler(request)
    if request.method == "OPTIONS" and origin and "Access-Control-Request-Method" in request.headers:
        method = request.headers["Access-Control-Request-Method"].upper()
        allowed = "POST" if request.path == "/token" else "GET"
        if method not in (allowed, "OPTIONS"):
            return web.Response(status=405, headers={"Allow": f"{allowed}, OPTIONS"})
        response = web.Response(status=204)
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": f"{allowed}, OPTIONS",
                "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
        )
        return response
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    if isinstance(response, web.HTTPException):
        raise response
    return response


class Provider:
    def __init__(self, config: ProviderConfig):
        self.config = config
        self.key = SigningKey()
        self.devices: dict[str, DeviceRequest] = {}
        self.refresh_tokens: dict[str, tuple[str, str, str]] = {}  # token -> (client, sub, scope)
        self.codes: dict[str, CodeGrant] = {}

    # ---- helpers ----
    def _client(self, form) -> tuple[str | None, web.Response | None]:
        client_id = form.get("client_id")
        client = self.config.clients.get(client_id or "")
        if client is None:
            return None, _error(401, "invalid_client", "Unknown client.")
        if client.secret is not None and form.get("client_secret") != client.secret:
            return None, _error(401, "invalid_client", "Bad client credentials.")
        return client_id, None

    def _tokens(self, client_id: str, sub: str, scope: str, *, refresh: bool, nonce: str | None = None) -> dict:
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
            id_claims = {**claims, "aud": client_id}
            if nonce:
                id_claims["nonce"] = nonce
            body["id_token"] = self.key.sign(id_claims)
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
                "grant_types_supported": [CODE_GRANT, "client_credentials", DEVICE_GRANT, "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "response_modes_supported": ["query"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
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

    async def authorize(self, request: web.Request) -> web.Response:
        """The authorization endpoint: a browser navigation. Approves the configured test user at
        once and redirects to the client's redirect URI with `code` and `state`."""
        q = request.query
        client = self.config.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        # RFC 6749 4.1.2.1: without a valid client and redirect URI, tell the user, never redirect.
        if client is None:
            return _error(400, "invalid_request", "Unknown client_id.")
        if not redirect_uri or not _redirect_uri_registered(redirect_uri, self.config.redirect_uris):
            return _error(400, "invalid_request", "redirect_uri is missing or not registered for this client.")
        state = q.get("state")

        def refuse(error: str, description: str) -> NoReturn:
            raise web.HTTPFound(_with_query(redirect_uri, {"error": error, "error_description": description, "state": state}))

        if q.get("response_type") != "code":
            refuse("unsupported_response_type", "Only response_type=code is supported.")
        challenge, method = q.get("code_challenge"), q.get("code_challenge_method", "plain")
        if challenge is None and client.secret is None:
            refuse("invalid_request", "Public clients must use PKCE (code_challenge).")
        if challenge is not None and method != "S256":
            refuse("invalid_request", "code_challenge_method must be S256.")
        if challenge is not None and not (43 <= len(challenge) <= 128):
            refuse("invalid_request", "code_challenge must be a base64url SHA-256 digest.")
        if not self.config.auto_approve_sub:
            refuse("login_required", "This test provider has no login page: set OIDC_TEST_AUTO_APPROVE.")
        code = secrets.token_urlsafe(32)
        self.codes[code] = CodeGrant(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=q.get("scope", "openid"),
            code_challenge=challenge or "",
            nonce=q.get("nonce"),
            sub=self.config.auto_approve_sub,
            expires=time.time() + self.config.code_ttl,
        )
        raise web.HTTPFound(_with_query(redirect_uri, {"code": code, "state": state}))

    def _exchange_code(self, client_id: str, form) -> web.Response:
        # A code is single-use: removed before anything else is checked.
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires < time.time():
            return _error(400, "invalid_grant", "Unknown, used or expired authorization code.")
        if grant.client_id != client_id:
            return _error(400, "invalid_grant", "The code was issued to another client.")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _error(400, "invalid_grant", "redirect_uri differs from the authorization request.")
        if grant.code_challenge and not _pkce_ok(grant.code_challenge, form.get("code_verifier")):
            return _error(400, "invalid_grant", "PKCE verification failed.")
        if not grant.code_challenge and form.get("code_verifier"):
            return _error(400, "invalid_grant", "code_verifier without a code_challenge.")
        return web.json_response(
            self._tokens(client_id, grant.sub, grant.scope, refresh=True, nonce=grant.nonce),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

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
        if grant == CODE_GRANT:
            return self._exchange_code(client_id, form)
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
    app = web.Application(middlewares=[cors])
    app[PROVIDER] = provider
    app.router.add_get("/.well-known/openid-configuration", provider.discovery)
    app.router.add_get("/jwks", provider.jwks)
    app.router.add_get("/authorize", provider.authorize)
    app.router.add_post("/device_authorization", provider.device_authorization)
    app.router.add_post("/device", provider.approve_device)
    app.router.add_post("/token", provider.token)
    app.router.add_get("/userinfo", provider.userinfo)
    return app
