"""Authentication: bearer tokens dispatched by their openEO scheme prefix.

openEO bearer tokens look like `<method>/<provider>/<token>`:
- `basic//<token>`           -> the verifier registered for "basic" (Sentinel Hub JWT, `basic.py`)
- `oidc/<provider>/<token>`  -> the verifier registered for "oidc" (to be added in `oidc.py`)
A verifier is any object with `async verify(provider: str, token: str) -> User` (see
`bearer.TokenVerifier`); register it with `app[AUTH].register("oidc", verifier)`.
"""

from gateway.auth.bearer import AUTH, Authenticator, TokenVerifier, optional_user, require_user

__all__ = ["AUTH", "Authenticator", "TokenVerifier", "optional_user", "require_user"]
