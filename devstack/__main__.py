"""`make up`: run the whole backend locally until Ctrl-C / SIGTERM. A part that crashes is
restarted with backoff by the stack's supervisor (`devstack.supervisor`), which prints each
restart; only Ctrl-C, SIGTERM or the end of the parent process (make) stop the stack."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from devstack.stack import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    OIDC_CONFIDENTIAL_CLIENT,
    OIDC_CONFIDENTIAL_SECRET,
    Stack,
    StackConfig,
)


def main() -> int:
    run_dir = Path(os.environ.get("STACK_RUN_DIR", ".run")).resolve()
    stack = Stack(StackConfig.from_env(run_dir))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("starting the local stack (logs in", stack.logs_dir, ")", flush=True)
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - report and exit non-zero
        print(f"the stack failed to start: {exc}", file=sys.stderr)
        return 1
    print(
        f"""
openEO API:            {stack.gateway_url}
Sentinel Hub (emul.):  {stack.emulator_url}
Demo login (basic):    client id {DEMO_CLIENT_ID!r}, secret {DEMO_CLIENT_SECRET!r}
Demo login (OIDC):     provider 'local' at {stack.oidc_issuer}: device flow or browser login
                       (authorization code + PKCE, public client 'openeo-public'; auto-approved as 'alice')
                       or client credentials {OIDC_CONFIDENTIAL_CLIENT!r} / {OIDC_CONFIDENTIAL_SECRET!r}

  import openeo
  con = openeo.connect("{stack.gateway_url}")
  con.authenticate_basic("{DEMO_CLIENT_ID}", "{DEMO_CLIENT_SECRET}")

Crashed parts are restarted (logged in {stack.logs_dir / "supervisor.log"}).
Press Ctrl-C to stop.""",
        flush=True,
    )
    parent = os.getppid()
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                print("the parent process (make) is gone; stopping", file=sys.stderr)
                return 1
    finally:
        print("stopping...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
