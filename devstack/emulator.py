"""The Sentinel Hub emulator as a child process, for tests and benchmarks that need only it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.health import http_ok
from devstack.processes import ChildProcess, free_port, python_module, wait_until

ROOT = Path(__file__).resolve().parent.parent
CERTS_PATH = "/auth/realms/main/protocol/openid-connect/certs"


@dataclass
class RunningEmulator:
    url: str
    child: ChildProcess


@contextmanager
def running_emulator(log_path: Path, *, port: int | None = None, env: dict | None = None) -> Iterator[RunningEmulator]:
    """Starts `python -m sentinelhub_emulator` on 127.0.0.1, waits until it answers, stops it after."""
    port = port or free_port()
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    child = ChildProcess(
        "emulator",
        python_module("sentinelhub_emulator", "--host", "127.0.0.1", "--port", str(port)),
        {"PYTHONPATH": pythonpath, **(env or {})},
        Path(log_path),
    )
    child.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(url + CERTS_PATH), 30, "Sentinel Hub emulator", child)
        yield RunningEmulator(url, child)
    finally:
        child.stop(timeout=10)
