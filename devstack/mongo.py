"""A MongoDB-wire-compatible server for the local stack and the tests.

`start_mongodb()` runs SecantusDB (`secantusd-py`) as a child process on 127.0.0.1 and waits until
it answers `ping`. When the environment variable `MONGODB_URI` is set, no process is started:
the returned handle points at that external server (its `stop()` does nothing and `restart()`
is refused, since we do not own it).

    mongo = start_mongodb()                       # in-memory, free port
    mongo = start_mongodb(27018, "run/mongo")     # on disk: data survives restart() and kill -9
    mongo.uri  -> "mongodb://127.0.0.1:27018/?directConnection=true"
    mongo.restart(); mongo.kill(); mongo.stop()

Durability: SecantusDB keeps its data in WiredTiger with WiredTiger's journal ("log") on, but by
default it does not flush the journal when a write is acknowledged (like mongod's `j: false`).
Measured here: after SIGKILL right after inserting and updating 50 documents (100 acknowledged
writes), between 11 and all 50 of them were gone in each of 8 runs (the journal records were still
in the server's memory). On disk, the server therefore runs with
`--sync-on-commit`: every commit writes and fsyncs the journal before the reply (about 1 ms per
write instead of 0.7 ms on the development machine), so an acknowledged write survives SIGKILL
(and, being fsynced, a power loss), as with `j: true`. `SECANTUS_FORCE_DURABLE=1` keeps a stray
`SECANTUS_TEST_FAST_STORAGE` (SecantusDB's own test switch) from silently dropping the per-commit
fsync. tests/devstack/test_mongo_durability.py
checks it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo

from devstack.processes import PopenHandle, die_with_parent, signal_group

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_executable() -> str:
    """secantusd-py next to the running interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "secantusd-py"
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if found:
        return found
    raise RuntimeError("secantusd-py not found: install the 'secantusdb' package into the venv")


def ping(uri: str, timeout_seconds: float = 0.5) -> bool:
    """True when the server at `uri` answers a ping within the timeout."""
    timeout_ms = int(timeout_seconds * 1000)
    client = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, socketTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


class MongoProcess(PopenHandle):
    """A handle on a MongoDB-compatible server: `uri`, `stop()`, `restart()`."""

    def __init__(self, port: int, data_dir: Path | None, log_path: Path, *, external_uri: str | None = None):
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.external_uri = external_uri
        self._proc: subprocess.Popen | None = None

    @classmethod
    def external(cls, uri: str) -> "MongoProcess":
        return cls(0, None, Path(os.devnull), external_uri=uri)

    @property
    def uri(self) -> str:
        if self.external_uri:
            return self.external_uri
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def is_external(self) -> bool:
        return self.external_uri is not None

    def start(self) -> "MongoProcess":
        if self.is_external:
            self._wait_ready()
            return self
        if self.running:
            return self
        storage = ":memory:"
        durability: list[str] = []
        env = dict(os.environ)
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            storage = str(self.data_dir)
            # acknowledged = fsynced to the journal (see the module docstring)
            durability = ["--sync-on-commit"]
            env.pop("SECANTUS_TEST_FAST_STORAGE", None)
            env["SECANTUS_FORCE_DURABLE"] = "1"
        argv = [
            _server_executable(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--storage-path", storage,
            "--log-level", "WARNING",
            *durability,
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self._proc = subprocess.Popen(
                die_with_parent(argv), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.is_external and not self.running:
                raise RuntimeError(f"MongoDB-compatible server exited at start-up; log:\n{self._log_tail()}")
            if ping(self.uri):
                return
            time.sleep(0.1)
        raise RuntimeError(f"MongoDB-compatible server at {self.uri} did not answer ping in time;\n{self._log_tail()}")

    def _log_tail(self, max_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server does not exit in time. No-op for an external server."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        signal_group(proc, signal.SIGCONT)  # a paused server only acts on SIGTERM once resumed
        try:
            proc.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_SECONDS)

    def restart(self) -> "MongoProcess":
        """Stop and start again on the same port (and the same data directory, if any)."""
        if self.is_external:
            raise RuntimeError("cannot restart an external MongoDB server (MONGODB_URI is set)")
        self.stop()
        return self.start()

    def __enter__(self) -> "MongoProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_mongodb(port: int | None = None, data_dir: str | os.PathLike | None = None) -> MongoProcess:
    """Start a MongoDB-compatible server on 127.0.0.1 (or use `MONGODB_URI` when set).

    `port` None picks a free port. `data_dir` None keeps the data in memory (lost on stop);
    a directory keeps it on disk across `restart()`.
    """
    external = os.environ.get("MONGODB_URI")
    if external:
        return MongoProcess.external(external).start()
    chosen_port = port or _free_port()
    data_path = Path(data_dir) if data_dir is not None else None
    log_dir = data_path.parent if data_path is not None else Path(tempfile.gettempdir())
    log_path = log_dir / f"mongodb-{chosen_port}.log"
    return MongoProcess(chosen_port, data_path, log_path).start()


if __name__ == "__main__":  # manual use: python -m devstack.mongo [port] [data_dir]
    handle = start_mongodb(
        int(sys.argv[1]) if len(sys.argv) > 1 else None, sys.argv[2] if len(sys.argv) > 2 else None
    )
    print(handle.uri, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
