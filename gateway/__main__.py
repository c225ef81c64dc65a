"""`python -m gateway`: serve the openEO API; SIGTERM drains in-flight requests, then exits."""

from __future__ import annotations

from aiohttp import web

from backend_common.logging import configure_logging
from gateway.app import create_app
from gateway.config import Settings


def main() -> None:
    settings = Settings.from_env()
    configure_logging("gateway", settings.log_level)
    app = create_app(settings)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        access_log=None,  # our own JSON access log (middleware/request_id.py)
        handle_signals=True,
        # a client that hangs up cancels its handler, and with it the gRPC calls it waits for
        # (POST /result: the executor stops the evaluation), instead of computing for nobody
        handler_cancellation=True,
        print=None,
    )


if __name__ == "__main__":
    main()
