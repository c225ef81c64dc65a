"""Local stack tooling: starts the infrastructure and the services on loopback (make up, tests)."""
