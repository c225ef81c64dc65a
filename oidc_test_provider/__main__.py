"""python -m oidc_test_provider --port 8091 [--issuer URL]"""

from __future__ import annotations

import argparse

from aiohttp import web

from oidc_test_provider.app import create_app
from oidc_test_provider.config import from_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--issuer", default=None)
    args = parser.parse_args()
    issuer = args.issuer or f"http://{args.host}:{args.port}"
    web.run_app(create_app(from_env(issuer)), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
