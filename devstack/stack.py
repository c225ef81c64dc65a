"""The whole backend on loopback: MongoDB-compatible server, S3, Sentinel Hub emulator, the four
gRPC services and the gateway, each its own process.

Used by `make up` (python -m devstack) and by the end-to-end tests (one stack per test session,
on free ports so it can run beside a developer's `make up`).

Every process is a named part: "mongo", "s3", "emulator", "oidc", "store", "compiler",
"executor" (and "executor-2", ... with EXECUTORS > 1), "tiles", "gateway" (`Stack.names`).
With `StackConfig.supervise` (as under `make up`) a part that crashes is restarted with backoff
(`devstack.supervisor`). For fault tests, one part at a time:

    stack.kill("store")          # SIGKILL (a crash): supervised, it comes back by itself
    stack.wait_ready("store")    # until it runs and answers again
    stack.stop("mongo")          # SIGTERM; stays down (not restarted) until
    stack.start("mongo")         # starts it again and waits until it answers
    stack.restart("s3", hard=True)   # kill (hard) or stop, then start and wait
    stack.pause("mongo", 5)      # SIGSTOP: hangs (connections accepted, no answers) for 5 s
    stack.resume("mongo")        # SIGCONT now

Parts that are not processes of this stack (MONGODB_URI, S3_ENDPOINT_URL, SH_BASE_URL,
OIDC_PROVIDERS set) are not parts: naming them raises KeyError.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.health import grpc_serving, http_ok
from devstack.processes import ChildProcess, free_port, python_module, tcp_open, wait_until
from devstack.supervisor import Part, RestartPolicy, Supervisor

SERVICES = ("store", "compiler", "executor", "tiles")
DEMO_CLIENT_ID = os.environ.get("SH_DEMO_CLIENT_ID", "demo-client")
DEMO_CLIENT_SECRET = os.environ.get("SH_DEMO_CLIENT_SECRET", "demo-secret")
# A second Sentinel Hub account the emulator accepts, so that two users can be tried side by side.
SECOND_CLIENT_ID = "demo-client-2"
SECOND_CLIENT_SECRET = "demo-secret-2"
# The backend's account in the emulator's CDSE realm (its /cdse deployment; main-realm clients do not work there).
CDSE_CLIENT_ID = "cdse-client"
CDSE_CLIENT_SECRET = "cdse-secret"
#: the executor's other deployments, at the emulator's base paths unless given (README "Deployments")
DEPLOYMENT_VARS = ("SH_USWEST_BASE_URL", "SH_CREODIAS_BASE_URL", "SH_CDSE_BASE_URL", "SH_CDSE_TOKEN_URL",
                   "SH_CDSE_CLIENT_ID", "SH_CDSE_CLIENT_SECRET")
OIDC_CONFIDENTIAL_CLIENT = "openeo-client"
OIDC_CONFIDENTIAL_SECRET = "openeo-secret"
OIDC_PUBLIC_CLIENT = "openeo-public"
# Where the local provider may send a browser back after login (authorization-code flow): the
# hosted openEO Web Editor and loopback addresses (any port, RFC 8252), e.g. a locally served editor.
OIDC_REDIRECT_URLS = ["https://editor.openeo.org/", "http://localhost:1410/", "http://127.0.0.1:1410/"]


@dataclass
class StackConfig:
    """Ports and options; 0 means 'pick a free port'."""

    run_dir: Path
    gateway_port: int = 8080
    emulator_port: int = 8090
    service_ports: dict[str, int] = field(
        default_factory=lambda: {"compiler": 50051, "executor": 50052, "tiles": 50053, "store": 50054}
    )
    oidc_port: int = 8091
    mongo_port: int = 27018
    s3_port: int = 8333
    executors: int = 1
    #: dask.distributed workers (with a scheduler) for the executors' chunked runs; 0: none, the
    #: executors compute on their local scheduler
    dask_workers: int = 0
    log_level: str = "info"
    extra_env: dict[str, str] = field(default_factory=dict)
    #: restart crashed parts (make up); off for the shared e2e stack, whose tests kill on purpose
    supervise: bool = False
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    #: print supervisor events (they are always logged to logs/supervisor.log)
    echo: bool = True

    @classmethod
    def from_env(cls, run_dir: Path) -> "StackConfig":
        def port(name: str, default: int) -> int:
            return int(os.environ.get(name) or default)

        return cls(
            run_dir=run_dir,
            gateway_port=port("GATEWAY_PORT", 8080),
            emulator_port=port("SH_EMULATOR_PORT", 8090),
            oidc_port=port("OIDC_TEST_PROVIDER_PORT", 8091),
            service_ports={
                "compiler": port("COMPILER_PORT", 50051),
                "executor": port("EXECUTOR_PORT", 50052),
                "tiles": port("TILES_PORT", 50053),
                "store": port("STORE_PORT", 50054),
            },
            mongo_port=port("MONGO_PORT", 27018),
            s3_port=port("S3_PORT", 8333),
            executors=port("EXECUTORS", 1),
            dask_workers=port("DASK_WORKERS", 0),
            log_level=os.environ.get("LOG_LEVEL", "info"),
            supervise=True,
            restart_policy=RestartPolicy(
                max_seconds=float(os.environ.get("DEVSTACK_RESTART_MAX_SECONDS") or 30.0)
            ),
        )

    @classmethod
    def free_ports(cls, run_dir: Path, **kwargs) -> "StackConfig":
        return cls(
            run_dir=run_dir,
            gateway_port=free_port(),
            emulator_port=free_port(),
            oidc_port=free_port(),
            service_ports={name: free_port() for name in SERVICES},
            mongo_port=free_port(),
            s3_port=free_port(),
            **kwargs,
        )


class Stack:
    """Starts and stops the processes of the local stack."""

    def __init__(self, config: StackConfig):
        self.config = config
        self.mongo = None
        self.s3 = None
        self.children: dict[str, ChildProcess] = {}
        self.env: dict[str, str] = {}
        self.parts: dict[str, Part] = {}
        self._ready_checks: dict[str, object] = {}
        self.supervisor: Supervisor | None = None

    # ---- addresses ----
    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def emulator_url(self) -> str:
        return os.environ.get("SH_BASE_URL") or f"http://127.0.0.1:{self.config.emulator_port}"

    @property
    def oidc_issuer(self) -> str:
        return f"http://127.0.0.1:{self.config.oidc_port}"

    def oidc_providers(self) -> list[dict]:
        """The providers the gateway offers: the local test provider (unless OIDC_PROVIDERS is set)."""
        return [
            {
                "id": "local",
                "issuer": self.oidc_issuer,
                "title": "Local test provider (make up)",
                "scopes": ["openid"],
                "default_clients": [
                    {
                        "id": OIDC_PUBLIC_CLIENT,
                        "grant_types": [
                            "authorization_code+pkce",
                            "urn:ietf:params:oauth:grant-type:device_code+pkce",
                            "refresh_token",
                        ],
                        "redirect_urls": list(OIDC_REDIRECT_URLS),
                    }
                ],
            }
        ]

    def addr(self, service: str) -> str:
        return f"127.0.0.1:{self.config.service_ports[service]}"

    @property
    def logs_dir(self) -> Path:
        return self.config.run_dir / "logs"

    # ---- lifecycle ----
    def start(self, name: str | None = None) -> "Stack":
        """Without `name`: starts the whole stack (and its supervisor, when configured) and waits
        until every part answers. With `name`: starts that part again (after `stop(name)`,
        `kill(name)` or a crash) and waits until it answers; a running part is left alone."""
        if name is not None:
            part = self.parts[name]
            with part.lock:
                part.wanted = True
                if not part.handle.running:
                    part.start()
                    part.started_at = time.monotonic()
            return self
        try:
            self._start_infrastructure()
            self.env = self._service_env()
            if not os.environ.get("SH_BASE_URL"):
                self._start_emulator()
            if not os.environ.get("OIDC_PROVIDERS"):
                self._start_oidc_provider()
            self._start_service("store")
            self._start_service("compiler")
            self._start_dask()
            self._start_executors()
            self._start_service("tiles")
            self._start_gateway()
        except BaseException:
            self.stop()
            raise
        if self.config.supervise:
            self.supervisor = Supervisor(
                self.parts,
                self.config.restart_policy,
                self.logs_dir / "supervisor.log",
                echo=(lambda line: print(line, flush=True)) if self.config.echo else None,
            )
            self.supervisor.start()
        return self

    def stop(self, name: str | None = None) -> None:
        """Without `name`: stops everything, services first (gateway, ..., store), then the
        emulator, the OIDC provider, S3 and MongoDB. With `name`: stops that part gracefully
        (SIGTERM); it stays down, even when supervised, until `start(name)`."""
        if name is not None:
            part = self.parts[name]
            with part.lock:
                part.wanted = False
                part.handle.stop()
            return
        if self.supervisor is not None:
            self.supervisor.halt()
        for child_name in reversed(list(self.children)):
            self.children[child_name].stop()
        if self.s3 is not None:
            self.s3.stop()
        if self.mongo is not None:
            self.mongo.stop()
        if self.supervisor is not None:
            self.supervisor.join()
            self.supervisor = None

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- one part at a time (fault tests) ----
    @property
    def names(self) -> list[str]:
        """The parts of this stack, in start order."""
        return list(self.parts)

    def kill(self, name: str) -> None:
        """SIGKILL to the part's process group, as a crash. A supervised stack restarts it after
        the backoff delay (see `wait_ready`); otherwise it stays down until `start(name)`."""
        part = self.parts[name]
        with part.lock:
            part.handle.kill()

    def restart(self, name: str, *, hard: bool = False) -> None:
        """Stops the part (SIGTERM, or SIGKILL when `hard`), starts it again and waits until it
        answers. Not counted as a crash by the supervisor."""
        part = self.parts[name]
        with part.lock:
            if hard:
                part.handle.kill()
            part.handle.stop()
            part.wanted = True
            part.start()
            part.started_at = time.monotonic()

    def pause(self, name: str, seconds: float | None = None) -> None:
        """Freezes the part (SIGSTOP to its process group): it neither answers nor dies, like a
        hung server. Returns at once; resumed after `seconds` (in the background) if given,
        else by `resume(name)`. The supervisor does not restart a paused part."""
        part = self.parts[name]
        with part.lock:
            part.handle.pause()
        if seconds is not None:
            timer = threading.Timer(seconds, self.resume, args=(name,))
            timer.daemon = True
            timer.start()

    def resume(self, name: str) -> None:
        part = self.parts[name]
        with part.lock:
            part.handle.resume()

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        """Waits until the part runs and answers, e.g. after `kill(name)` on a supervised stack."""
        part = self.parts[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if part.lock.acquire(timeout=0.5):  # not while the supervisor is starting it
                try:
                    if part.handle.running and self._answers(name):
                        return
                finally:
                    part.lock.release()
            time.sleep(0.1)
        raise TimeoutError(f"{name} did not come back within {timeout:.0f} s")

    def restarts(self, name: str) -> int:
        """How many times the supervisor restarted the part after a crash."""
        return self.parts[name].restarts

    def _answers(self, name: str) -> bool:
        try:
            return bool(self._ready_checks[name]())
        except Exception:  # noqa: BLE001 - not ready
            return False

    # ---- parts ----
    def _start_infrastructure(self) -> None:
        from devstack.mongo import ping, start_mongodb
        from devstack.s3 import start_s3

        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.mongo = start_mongodb(port=self.config.mongo_port, data_dir=self.config.run_dir / "mongo")
        if not self.mongo.is_external:
            self._add_part("mongo", self.mongo, self.mongo.start, self.mongo.log_path,
                           lambda: ping(self.mongo.uri))
        self.s3 = start_s3(self.config.run_dir / "s3", s3_port=self.config.s3_port)
        if not self.s3.external:
            self._add_part("s3", self.s3, self.s3.start, self.s3.log_path, lambda: self.s3.wait_ready(1.0) is None)

    def _service_env(self) -> dict[str, str]:
        sh = self.emulator_url.rstrip("/")
        env = {
            "LOG_LEVEL": self.config.log_level,
            "PYTHONUNBUFFERED": "1",
            "MONGODB_URI": self.mongo.uri,
            "MONGODB_DB": os.environ.get("MONGODB_DB", "openeo"),
            "S3_ENDPOINT_URL": self.s3.endpoint_url,
            "S3_BUCKET": self.s3.bucket,
            "S3_REGION": os.environ.get("S3_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": self.s3.access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_key,
            "SH_BASE_URL": sh,
            "SH_TOKEN_URL": os.environ.get("SH_TOKEN_URL", sh + "/auth/realms/main/protocol/openid-connect/token"),
            "SH_JWKS_URL": os.environ.get("SH_JWKS_URL", sh + "/auth/realms/main/protocol/openid-connect/certs"),
            "SH_CLIENT_ID": os.environ.get("SH_CLIENT_ID", DEMO_CLIENT_ID),
            "SH_CLIENT_SECRET": os.environ.get("SH_CLIENT_SECRET", DEMO_CLIENT_SECRET),
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.config.gateway_port),
            "GATEWAY_PUBLIC_URL": os.environ.get("GATEWAY_PUBLIC_URL", self.gateway_url),
            "RESULT_SIGNING_SECRET": os.environ.get("RESULT_SIGNING_SECRET", secrets.token_hex(32)),
            "OIDC_PROVIDERS": os.environ.get("OIDC_PROVIDERS") or json.dumps(self.oidc_providers()),
        }
        env.update(self._deployment_env(sh))
        for service in SERVICES:
            env[f"{service.upper()}_LISTEN"] = self.addr(service)
            env[f"{service.upper()}_ADDR"] = self.addr(service)
        env.update(self.config.extra_env)
        return env

    @staticmethod
    def _deployment_env(sh: str) -> dict[str, str]:
        """US-West, CREODIAS and CDSE: the emulator's base paths when this stack runs the emulator,
        else whatever the environment says (unset: see `executor_svc.sentinelhub.config`)."""
        if os.environ.get("SH_BASE_URL"):
            return {k: os.environ[k] for k in DEPLOYMENT_VARS if os.environ.get(k)}
        defaults = {"SH_USWEST_BASE_URL": sh + "/uswest2", "SH_CREODIAS_BASE_URL": sh + "/creodias",
                    "SH_CDSE_BASE_URL": sh + "/cdse", "SH_CDSE_CLIENT_ID": CDSE_CLIENT_ID,
                    "SH_CDSE_CLIENT_SECRET": CDSE_CLIENT_SECRET}
        return {k: os.environ.get(k) or v for k, v in defaults.items()}

    def _add_part(self, name, handle, start, log_path, ready) -> None:
        self.parts[name] = Part(name, handle, start, log_path)
        self._ready_checks[name] = ready

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], ready, what: str, timeout: float = 60) -> ChildProcess:
        """Starts a child process and waits until `ready()`; registers it as a part whose
        restart does the same."""
        child = ChildProcess(name, argv, env, self.logs_dir / f"{name}.log")

        def start() -> None:
            child.start()
            wait_until(ready, timeout, what, child)

        self.children[name] = child
        self._add_part(name, child, start, child.log_path, ready)
        start()
        return child

    def _start_emulator(self) -> None:
        env = {
            "SH_EMULATOR_CLIENTS": f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET},{SECOND_CLIENT_ID}:{SECOND_CLIENT_SECRET}",
            "SH_EMULATOR_CDSE_CLIENTS": f"{CDSE_CLIENT_ID}:{CDSE_CLIENT_SECRET}",
            "SH_EMULATOR_PUBLIC_URL": self.emulator_url,
            "SH_EMULATOR_S3_ENDPOINT": self.s3.endpoint_url,  # Batch Statistical reads and writes s3:// URLs there
            "LOG_LEVEL": self.config.log_level,
            # Batch v2 delivers tiles to "AWS S3": here the stack's own object store
            "SH_EMULATOR_S3_ENDPOINT": self.s3.endpoint_url,
        }
        env.update({k: v for k, v in self.config.extra_env.items() if k.startswith("SH_EMULATOR_")})
        url = self.emulator_url + "/auth/realms/main/protocol/openid-connect/certs"
        self._spawn(
            "emulator",
            python_module("sentinelhub_emulator", "--host", "127.0.0.1", "--port", str(self.config.emulator_port)),
            env,
            lambda: http_ok(url),
            "Sentinel Hub emulator",
        )

    def _start_oidc_provider(self) -> None:
        env = {
            "OIDC_TEST_CLIENTS": f"{OIDC_CONFIDENTIAL_CLIENT}:{OIDC_CONFIDENTIAL_SECRET},{OIDC_PUBLIC_CLIENT}",
            "OIDC_TEST_AUTO_APPROVE": os.environ.get("OIDC_TEST_AUTO_APPROVE", "alice"),
            "OIDC_TEST_REDIRECT_URIS": ",".join(OIDC_REDIRECT_URLS),
        }
        self._spawn(
            "oidc",
            python_module("oidc_test_provider", "--port", str(self.config.oidc_port)),
            env,
            lambda: http_ok(self.oidc_issuer + "/.well-known/openid-configuration"),
            "OIDC provider",
            timeout=30,
        )

    def _start_service(
        self, service: str, *, name: str | None = None, listen: str | None = None, extra_env: dict | None = None
    ) -> ChildProcess:
        env = {**self.env, **(extra_env or {})}
        if listen:
            env[f"{service.upper()}_LISTEN"] = listen
        target = listen or self.addr(service)
        return self._spawn(
            name or service, python_module(f"{service}_svc"), env, lambda: grpc_serving(target), f"{name or service} service"
        )

    def _start_dask(self) -> None:
        """A dask scheduler and `dask_workers` workers (one thread each, 1 GiB with spilling to
        their directory under the run dir), named in the executors' DASK_SCHEDULER_ADDRESS."""
        if self.config.dask_workers <= 0:
            return
        port = free_port()
        address = f"tcp://127.0.0.1:{port}"
        self._spawn("dask-scheduler", python_module("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                                                    str(port), "--no-dashboard"),
                    {"PYTHONUNBUFFERED": "1"}, lambda: tcp_open(port), "dask scheduler")
        spill = {  # spill to disk from 60 % of the limit, pause at 80 %, restart at 95 %
            "DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "0.6", "DASK_DISTRIBUTED__WORKER__MEMORY__SPILL": "0.7",
            "DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE": "0.8", "DASK_DISTRIBUTED__WORKER__MEMORY__TERMINATE": "0.95",
            "PYTHONUNBUFFERED": "1",
        }
        for index in range(self.config.dask_workers):
            worker_port = free_port()
            name = f"dask-worker-{index + 1}"
            self._spawn(name, python_module(
                "distributed.cli.dask_worker", address, "--name", name, "--nthreads", "1", "--memory-limit", "1GiB",
                "--listen-address", f"tcp://127.0.0.1:{worker_port}", "--no-dashboard", "--no-nanny",
                "--local-directory", str(self.config.run_dir / "dask" / name)),
                spill, lambda worker_port=worker_port: tcp_open(worker_port), name)
        self.env["DASK_SCHEDULER_ADDRESS"] = address

    def _start_executors(self) -> None:
        """One executor process per configured replica; clients balance over all of them."""
        ports = [self.config.service_ports["executor"]]
        ports += [free_port() for _ in range(self.config.executors - 1)]
        if len(ports) > 1:
            targets = "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in ports)
            self.env["EXECUTOR_ADDR"] = targets
        for index, port in enumerate(ports):
            name = "executor" if index == 0 else f"executor-{index + 1}"
            self._start_service(
                "executor", name=name, listen=f"127.0.0.1:{port}", extra_env={"EXECUTOR_WORKER_ID": name}
            )

    def _start_gateway(self) -> None:
        self._spawn("gateway", python_module("gateway"), self.env, lambda: http_ok(self.gateway_url + "/healthz"), "gateway")

    # ---- the names the first fault tests used ----
    def stop_service(self, name: str) -> None:
        self.stop(name)

    def kill_service(self, name: str) -> None:
        self.kill(name)

    def restart_service(self, name: str) -> None:
        self.restart(name)

    def logs(self) -> dict[str, str]:
        return {name: child.log_text() for name, child in self.children.items()}
