"""A tiny Sentinel Hub OAuth fake: client-credentials token endpoint and JWKS (RS256)."""

from __future__ import annotations

import json
import time

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"
ISSUER = "http://sh.test/auth/realms/main"


class FakeIdp:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "k1"
        self.extra_keys: dict[str, rsa.RSAPrivateKey] = {}
        self.jwks_requests = 0
        self.token_requests = 0

    def jwks(self) -> dict:
        keys = []
        for kid, key in {self.kid: self.key, **self.extra_keys}.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update(kid=kid, use="sig", alg="RS256")
            keys.append(jwk)
        return {"keys": keys}

    def token(self, sub: str = "user-1", *, exp_in: int = 3600, key=None, kid: str | None = None, **claims) -> str:
        now = int(time.time())
        payload = {"sub": sub, "iat": now, "exp": now + exp_in, "iss": ISSUER, "account": "acc-1", **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            self.token_requests += 1
            form = await request.post()
            if form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET:
                return web.json_response({"access_token": self.token(sub="sub-" + CLIENT_ID), "token_type": "Bearer",
                                          "expires_in": 3600})
            return web.json_response({"error": "invalid_client"}, status=401)

        async def certs(request: web.Request) -> web.Response:
            self.jwks_requests += 1
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_post("/auth/realms/main/protocol/openid-connect/token", token)
        app.router.add_get("/auth/realms/main/protocol/openid-connect/certs", certs)
        return app
