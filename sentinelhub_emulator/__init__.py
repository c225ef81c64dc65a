"""Sentinel Hub emulator: OAuth2, Catalog and Process API over a deterministic synthetic world."""

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "create_app", "EmulatorConfig"]


def __getattr__(name):  # lazy, so that `import sentinelhub_emulator.world` stays light
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "EmulatorConfig":
        from .config import EmulatorConfig

        return EmulatorConfig
    raise AttributeError(name)
