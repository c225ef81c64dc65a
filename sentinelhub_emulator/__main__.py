"""``python -m sentinelhub_emulator --host 127.0.0.1 --port 8090``"""
from __future__ import annotations

import argparse

from aiohttp import web

from .app import create_app
from .config import EmulatorConfig
from .logs import configure_logging, get_logger


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Sentinel Hub emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    configure_logging()
    config = EmulatorConfig.from_env()
    get_logger(__name__).info("starting", host=args.host, port=args.port, clients=sorted(config.clients))
    web.run_app(create_app(config), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
