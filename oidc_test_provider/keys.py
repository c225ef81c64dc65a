"""The provider's RSA signing key and its JWKS."""

from __future__ import annotations

import json
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class SigningKey:
    def __init__(self):
        self.kid = uuid.uuid4().hex[:16]
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})
