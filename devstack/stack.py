"""The whole backend on loopback: MongoDB-compatible server, S3, Sentinel Hub emulator, the four
gRPC services and the gateway, each its own process.

Used by `make up` (python -m devstack) and by the end-to-end tests (one stack per test session,
on free ports so it can run beside a developer's `make up`).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from devstack.health import grpc_serving, http_ok
from devstack.processes import ChildProcess, free_port, python_module, wait_until

SERVICES = ("store", "compiler", "executor", "tiles")
DEMO_CLIENT_ID = os.environ.get("SH_DEMO_CLIENT_ID", "demo-client")
DEMO_CLIENT_SECRET = os.environ.get("SH_DEMO_CLIENT_SECRET", "demo-secret")
# A second Sentinel Hub account the emulator accepts, so that two users can be tried side by side.
SECOND_CLIENT_ID = "demo-client-2"
SECOND_CLIENT_SECRET = "demo-secret-2"
OIDC_CONFIDENTIAL_CLIENT = "openeo-client"
OIDC_CONFIDENTIAL_SECRET = "openeo-secret"
OIDC_PUBLIC_CLIENT = "openeo-public"


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
    log_level: str = "info"
    extra_env: dict[str, str] = field(default_factory=dict)

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
            log_level=os.environ.get("LOG_LEVEL", "info"),
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
                            "urn:ietf:params:oauth:grant-type:device_code+pkce",
                            "refresh_token",
                        ],
                        "redirect_urls": ["https://editor.openeo.org", "http://localhost:1410/"],
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
    def start(self) -> "Stack":
        try:
            self._start_infrastructure()
            self.env = self._service_env()
            if not os.environ.get("SH_BASE_URL"):
                self._start_emulator()
            if not os.environ.get("OIDC_PROVIDERS"):
                self._start_oidc_provider()
            self._start_service("store")
            self._start_service("compiler")
            self._start_executors()
            self._start_service("tiles")
            self._start_gateway()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for name in reversed(list(self.children)):
            self.children[name].stop()
        if self.s3 is not None:
            self.s3.stop()
        if self.mongo is not None:
            self.mongo.stop()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- parts ----
    def _start_infrastructure(self) -> None:
        from devstack.mongo import start_mongodb
        from devstack.s3 import start_s3

        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.mongo = start_mongodb(port=self.config.mongo_port, data_dir=self.config.run_dir / "mongo")
        self.s3 = start_s3(self.config.run_dir / "s3", s3_port=self.config.s3_port)

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
        for service in SERVICES:
            env[f"{service.upper()}_LISTEN"] = self.addr(service)
            env[f"{service.upper()}_ADDR"] = self.addr(service)
        env.update(self.config.extra_env)
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> ChildProcess:
        child = ChildProcess(name, argv, env, self.logs_dir / f"{name}.log")
        child.start()
        self.children[name] = child
        return child

    def _start_emulator(self) -> None:
        env = {
            "SH_EMULATOR_CLIENTS": f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET},{SECOND_CLIENT_ID}:{SECOND_CLIENT_SECRET}",
            "SH_EMULATOR_PUBLIC_URL": self.emulator_url,
            "LOG_LEVEL": self.config.log_level,
        }
        child = self._spawn(
            "emulator",
            python_module("sentinelhub_emulator", "--host", "127.0.0.1", "--port", str(self.config.emulator_port)),
            env,
        )
        url = self.emulator_url + "/auth/realms/main/protocol/openid-connect/certs"
        wait_until(lambda: http_ok(url), 60, "Sentinel Hub emulator", child)

    def _start_oidc_provider(self) -> None:
        env = {
            "OIDC_TEST_CLIENTS": f"{OIDC_CONFIDENTIAL_CLIENT}:{OIDC_CONFIDENTIAL_SECRET},{OIDC_PUBLIC_CLIENT}",
            "OIDC_TEST_AUTO_APPROVE": os.environ.get("OIDC_TEST_AUTO_APPROVE", "alice"),
        }
        child = self._spawn("oidc", python_module("oidc_test_provider", "--port", str(self.config.oidc_port)), env)
        wait_until(lambda: http_ok(self.oidc_issuer + "/.well-known/openid-configuration"), 30, "OIDC provider", child)

    def _start_service(
        self, service: str, *, name: str | None = None, listen: str | None = None, extra_env: dict | None = None
    ) -> ChildProcess:
        env = {**self.env, **(extra_env or {})}
        if listen:
            env[f"{service.upper()}_LISTEN"] = listen
        child = self._spawn(name or service, python_module(f"{service}_svc"), env)
        target = listen or self.addr(service)
        wait_until(lambda: grpc_serving(target), 60, f"{name or service} service", child)
        return child

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
        child = self._spawn("gateway", python_module("gateway"), self.env)
        wait_until(lambda: http_ok(self.gateway_url + "/healthz"), 60, "gateway", child)

    # ---- for fault tests ----
    def stop_service(self, name: str) -> None:
        self.children[name].stop()

    def kill_service(self, name: str) -> None:
        self.children[name].kill()

    def restart_service(self, name: str) -> None:
        child = self.children[name]
        child.stop()
        child.start()
        service = name.split("-")[0]
        if service == "gateway":
            wait_until(lambda: http_ok(self.gateway_url + "/healthz"), 60, "gateway", child)
        elif service == "emulator":
            wait_until(lambda: http_ok(self.emulator_url + "/auth/realms/main/protocol/openid-connect/certs"), 60, name, child)
        else:
            listen = child.env.get(f"{service.upper()}_LISTEN", self.addr(service))
            wait_until(lambda: grpc_serving(listen), 60, name, child)

    def logs(self) -> dict[str, str]:
        return {name: child.log_text() for name, child in self.children.items()}
