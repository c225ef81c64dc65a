"""A small OpenID Connect provider for tests and `make up`: discovery, JWKS, client credentials,
device code (with PKCE) and refresh tokens. Not for production use."""
