"""Child processes of the local stack: start with logs to a file, wait for readiness, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


ORPHAN_GUARD = Path(__file__).with_name("orphan_guard.py")


def die_with_parent(argv: list[str]) -> list[str]:
    """`argv` run so that the child gets SIGTERM when its launcher dies (Linux), so a killed
    `make up` or test run leaves no server behind (see `orphan_guard`). Linux ties this to the
    creating *thread*, so only children started from the main thread get it."""
    if threading.current_thread() is not threading.main_thread() or not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-S", "-E", str(ORPHAN_GUARD), str(os.getpid()), *argv]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ChildProcess:
    """A service process of the stack, logging to `log_path`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            die_with_parent(self.argv),
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 25.0) -> None:
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def kill(self) -> None:
        if self.running:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def wait_until(check, timeout: float, what: str, proc: ChildProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.running:
            tail = proc.log_text()[-3000:]
            raise RuntimeError(f"{what}: process exited early\n{tail}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        time.sleep(0.1)
    tail = proc.log_text()[-3000:] if proc else ""
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s\n{tail}")
