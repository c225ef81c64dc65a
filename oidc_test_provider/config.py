"""Provider settings from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Client:
    client_id: str
    secret: str | None  # None = public client (device flow or authorization code, with PKCE)


@dataclass
class ProviderConfig:
    issuer: str
    clients: dict[str, Client] = field(default_factory=dict)
    # Device codes are approved for this user on the first poll (simulates the user's browser);
    # empty = only through the verification page.
    auto_approve_sub: str = ""
    token_ttl: int = 3600
    # Audience claim of access tokens ("" = the client id).
    audience: str = ""
    # Extra claims per subject, e.g. {"alice": {"eduperson_entitlement": [...]}}.
    claims: dict[str, dict] = field(default_factory=dict)
    device_interval: int = 1
    # Redirect URIs registered for every client (authorization-code flow). A loopback URI
    # (http://127.0.0.1, http://localhost, http://[::1]) also matches on any port (RFC 8252, 7.3).
    redirect_uris: tuple[str, ...] = ()
    code_ttl: int = 60


DEFAULT_REDIRECT_URIS = "https://editor.openeo.org/,http://localhost/,http://127.0.0.1/"


def parse_clients(spec: str) -> dict[str, Client]:
    """`id:secret,id2:secret2,public-id` (no colon = public client)."""
    clients = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        client_id, _, secret = item.partition(":")
        clients[client_id] = Client(client_id, secret or None)
    return clients


def from_env(issuer: str) -> ProviderConfig:
    return ProviderConfig(
        issuer=issuer.rstrip("/"),
        clients=parse_clients(os.environ.get("OIDC_TEST_CLIENTS", "openeo-client:openeo-secret,openeo-public")),
        auto_approve_sub=os.environ.get("OIDC_TEST_AUTO_APPROVE", "alice"),
        token_ttl=int(os.environ.get("OIDC_TEST_TOKEN_TTL", "3600")),
        audience=os.environ.get("OIDC_TEST_AUDIENCE", ""),
        redirect_uris=tuple(
            filter(None, (u.strip() for u in os.environ.get("OIDC_TEST_REDIRECT_URIS", DEFAULT_REDIRECT_URIS).split(",")))
        ),
    )
