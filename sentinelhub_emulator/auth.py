"""OAuth2 client-credentials token issuing (RS256 JWT), JWKS, discovery, bearer verification."""
from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import DEMO_CLIENT_ID
from .errors import SHError

REALM_PATH = "/auth/realms/main"
#: the Copernicus Data Space Ecosystem's realm, under the emulator's /cdse deployment
CDSE_REALM_PATH = "/cdse/auth/realms/CDSE"


def _b64u(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class KeyStore:
    """The RSA signing key (generated at start or loaded from a PEM file)."""

    def __init__(self, key_file: str | None = None):
        if key_file:
            with open(key_file, "rb") as fh:
                self.private_key = serialization.load_pem_private_key(fh.read(), password=None)
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.private_key.public_key().public_numbers()
        self.kid = hashlib.sha256(f"{pub.n}:{pub.e}".encode()).hexdigest()[:16]
        self._jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": _b64u(pub.n), "e": _b64u(pub.e)}

    def jwks(self) -> dict:
        return {"keys": [dict(self._jwk)]}

    @property
    def public_key(self):
        return self.private_key.public_key()


@dataclass
class Principal:
    client_id: str
    account: str
    claims: dict


class TokenService:
    def __init__(self, keys: KeyStore, clients: dict[str, str], ttl: int, account_id: str):
        self.keys = keys
        self.clients = clients
        self.ttl = ttl
        self.account_id = account_id
        self.generation = 0  # bumped by /_emulator/expire-tokens
        # per client, bumped by /_emulator/revoke-tokens: like deleting and re-creating an OAuth
        # client in the Sentinel Hub dashboard, its tokens issued so far stop working at once
        self.client_generation: dict[str, int] = {}

    def account_of(self, client_id: str) -> str:
        """Each client is its own account (BYOC collections belong to accounts), the demo client's
        (or a lone client's) being the configured one."""
        if client_id == DEMO_CLIENT_ID or len(self.clients) == 1:
            return self.account_id
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sh-emulator-account:{client_id}"))

    def check_client(self, client_id: str | None, client_secret: str | None) -> bool:
        return bool(client_id) and client_id in self.clients and self.clients[client_id] == client_secret

    def issue(self, client_id: str, issuer: str) -> dict:
        now = int(time.time())
        claims = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sh-emulator:{client_id}")),
            "iss": issuer,
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
            "azp": client_id,
            "clientId": client_id,
            "typ": "Bearer",
            "account": self.account_of(client_id),
            "d": {"1": {"ra": {"rag": 7}, "t": 14000}},
            "name": f"Emulated client {client_id}",
            "email": f"{client_id}@sentinel-hub.emulator",
            "gen": self.generation,
            "cgen": self.client_generation.get(client_id, 0),
        }
        token = jwt.encode(claims, self.keys.private_key, algorithm="RS256", headers={"kid": self.keys.kid})
        return {"access_token": token, "expires_in": self.ttl, "refresh_expires_in": 0, "token_type": "Bearer",
                "not-before-policy": 0, "scope": "email profile"}

    def expire_all(self) -> None:
        self.generation += 1

    def revoke(self, client_id: str) -> None:
        """Every token issued to `client_id` until now is refused from now on."""
        self.client_generation[client_id] = self.client_generation.get(client_id, 0) + 1

    def verify(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise SHError(401, "Authentication required: missing bearer token", "COMMON_UNAUTHORIZED")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") not in (None, self.keys.kid):
                raise jwt.InvalidTokenError("unknown key id")
            claims = jwt.decode(token, self.keys.public_key, algorithms=["RS256"],
                                options={"require": ["exp", "iat", "sub"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise SHError(401, "Token expired", "COMMON_UNAUTHORIZED") from None
        except jwt.InvalidTokenError as exc:
            raise SHError(401, f"Invalid token: {exc}", "COMMON_UNAUTHORIZED") from None
        if claims.get("gen") != self.generation:
            raise SHError(401, "Token expired", "COMMON_UNAUTHORIZED")
        client = str(claims.get("azp") or claims["sub"])
        if claims.get("cgen", 0) != self.client_generation.get(client, 0):
            raise SHError(401, "Token revoked", "COMMON_UNAUTHORIZED")
        return Principal(client_id=str(claims.get("azp") or claims["sub"]), account=str(claims.get("account")),
                         claims=claims)


def discovery_document(base: str, realm_path: str = REALM_PATH) -> dict:
    issuer = base + realm_path
    oidc = issuer + "/protocol/openid-connect"
    return {
        "issuer": issuer,
        "token_endpoint": oidc + "/token",
        "jwks_uri": oidc + "/certs",
        "authorization_endpoint": oidc + "/auth",
        "userinfo_endpoint": oidc + "/userinfo",
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
    }


def parse_basic(authorization: str | None) -> tuple[str | None, str | None]:
    if not authorization or not authorization.lower().startswith("basic "):
        return None, None
    try:
        raw = base64.b64decode(authorization[6:].strip()).decode()
    except Exception:  # noqa: BLE001 - malformed header counts as no credentials
        return None, None
    cid, _, secret = raw.partition(":")
    from urllib.parse import unquote

    return unquote(cid), unquote(secret)


def claimed_client(authorization: str | None) -> str | None:
    """The client a bearer token claims to belong to, unverified (for accounting refused calls)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    try:
        claims = jwt.decode(authorization[7:].strip(), options={"verify_signature": False, "verify_exp": False})
    except jwt.InvalidTokenError:
        return None
    client = claims.get("azp") or claims.get("sub")
    return str(client) if client else None
