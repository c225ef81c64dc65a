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


class LauncherThread(threading.Thread):
    """A thread that lives as long as the children it starts (the supervisor's watchers): they
    may be tied to it with the parent-death signal, see `die_with_parent`."""

    outlives_its_children = True


def die_with_parent(argv: list[str]) -> list[str]:
    """`argv` run so that the child gets SIGTERM when its launcher dies (Linux), so a killed
    `make up` or test run leaves no server behind (see `orphan_guard`). Linux ties this to the
    creating *thread*: a child started from a short-lived thread would be terminated as soon as
    that thread ends, so only children started from the main thread or a `LauncherThread` get it."""
    thread = threading.current_thread()
    tied = thread is threading.main_thread() or getattr(thread, "outlives_its_children", False)
    if not tied or not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-S", "-E", str(ORPHAN_GUARD), str(os.getpid()), *argv]


def signal_group(proc: subprocess.Popen | None, sig: int) -> None:
    """Sends `sig` to the process group of `proc` (each child leads its own session), ignoring a
    group that is already gone."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class PopenHandle:
    """State and signals of one server process kept in `self._proc` (the MongoDB-compatible
    server, SeaweedFS): the same controls for every part the stack supervises."""

    _proc: subprocess.Popen | None
    #: seconds `kill` waits for the process to be gone
    kill_wait_seconds: float = 10.0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def crashed(self) -> bool:
        """Started, then exited although `stop()` was not called (a crash or `kill()`)."""
        return self._proc is not None and self._proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def kill(self) -> None:
        """SIGKILL, as a crash would end it: `crashed` becomes true, the data directory stays."""
        if self.running:
            assert self._proc is not None
            signal_group(self._proc, signal.SIGKILL)
            self._proc.wait(self.kill_wait_seconds)

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, but nothing answers."""
        if self.running:
            signal_group(self._proc, signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            signal_group(self._proc, signal.SIGCONT)


def describe_exit(returncode: int | None) -> str:
    """'exit code 1' / 'killed by SIGKILL' for a Popen returncode."""
    if returncode is None:
        return "running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tcp_open(port: int, timeout: float = 1.0) -> bool:
    """Something accepts connections on 127.0.0.1:`port` (a dask scheduler or worker)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class ChildProcess(PopenHandle):
    """A service process of the stack, logging to `log_path` (appended to across restarts).

    `crashed` is what a supervisor restarts: the process was started and has exited although
    nobody called `stop()` (a crash, or `kill()`, which simulates one)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)
    stop_requested: bool = field(default=False, repr=False)

    def start(self) -> None:
        self.stop_requested = False
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

    kill_wait_seconds = 5.0

    @property
    def _proc(self) -> subprocess.Popen | None:  # PopenHandle's view of `proc`
        return self.proc

    @property
    def crashed(self) -> bool:
        return self.proc is not None and not self.stop_requested and self.proc.poll() is not None

    def stop(self, timeout: float = 25.0) -> None:
        self.stop_requested = True
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        signal_group(self.proc, signal.SIGCONT)  # a paused process only acts on SIGTERM once resumed
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            signal_group(self.proc, signal.SIGKILL)
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
