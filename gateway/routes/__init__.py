"""HTTP routes, one module per openEO API area; each exposes `setup(app)`."""
