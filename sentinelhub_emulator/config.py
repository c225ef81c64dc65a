"""Emulator configuration (from environment variables or explicit values)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from . import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from .batch_v2.runner import BatchSettings


def parse_clients(text: str) -> dict[str, str]:
    """Parse ``"id:secret,id2:secret2"``."""
    clients = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        cid, sep, secret = item.partition(":")
        if not sep or not cid:
            raise ValueError(f"Bad client entry {item!r}; expected id:secret")
        clients[cid] = secret
    return clients


def load_clients_file(path: str) -> dict[str, str]:
    """JSON file: either ``{"id": "secret"}`` or ``[{"client_id": ..., "client_secret": ...}]``."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    return {str(d["client_id"]): str(d["client_secret"]) for d in data}


@dataclass
class EmulatorConfig:
    clients: dict[str, str] = field(default_factory=lambda: {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET})
    #: OAuth clients of the CDSE realm (the /cdse deployment); main-realm clients do not work there
    cdse_clients: dict[str, str] = field(default_factory=lambda: {"cdse-client": "cdse-secret"})
    token_ttl: int = 3600
    key_file: str | None = None
    public_base_url: str | None = None  # default: derived from the request Host
    rate_limit_requests_per_minute: int | None = None
    rate_limit_pu_per_minute: float | None = None
    pu_quota: float | None = None  # total PU per client (the "monthly quota"); exhausted -> 403
    script_timeout_s: float = 30.0
    script_max_memory: int = 512 * 1024 * 1024
    workers: int = 2
    v8_pool_size: int = 2
    render_chunk_values: int = 8 * 1024 * 1024  # input values (float64) per V8 round trip
    account_id: str = "00000000-0000-4000-8000-00000000e301"
    # the S3 endpoint behind s3:// URLs of Batch Statistical requests (None: AWS)
    s3_endpoint_url: str | None = None
    batch: BatchSettings = field(default_factory=BatchSettings)  # Batch v2 (SH_EMULATOR_S3_ENDPOINT, ...)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "EmulatorConfig":
        env = dict(os.environ if env is None else env)
        cfg = cls()
        clients: dict[str, str] = {}
        if env.get("SH_EMULATOR_CLIENTS_FILE"):
            clients.update(load_clients_file(env["SH_EMULATOR_CLIENTS_FILE"]))
        if env.get("SH_EMULATOR_CLIENTS"):
            clients.update(parse_clients(env["SH_EMULATOR_CLIENTS"]))
        if clients:
            cfg.clients = clients
        if env.get("SH_EMULATOR_CDSE_CLIENTS"):
            cfg.cdse_clients = parse_clients(env["SH_EMULATOR_CDSE_CLIENTS"])
        if env.get("SH_EMULATOR_TOKEN_TTL"):
            cfg.token_ttl = int(env["SH_EMULATOR_TOKEN_TTL"])
        cfg.key_file = env.get("SH_EMULATOR_KEY_FILE") or None
        cfg.public_base_url = env.get("SH_EMULATOR_PUBLIC_URL") or None
        if env.get("SH_EMULATOR_RATE_LIMIT_REQUESTS"):
            cfg.rate_limit_requests_per_minute = int(env["SH_EMULATOR_RATE_LIMIT_REQUESTS"])
        if env.get("SH_EMULATOR_RATE_LIMIT_PU"):
            cfg.rate_limit_pu_per_minute = float(env["SH_EMULATOR_RATE_LIMIT_PU"])
        if env.get("SH_EMULATOR_PU_QUOTA"):
            cfg.pu_quota = float(env["SH_EMULATOR_PU_QUOTA"])
        if env.get("SH_EMULATOR_SCRIPT_TIMEOUT"):
            cfg.script_timeout_s = float(env["SH_EMULATOR_SCRIPT_TIMEOUT"])
        if env.get("SH_EMULATOR_SCRIPT_MAX_MEMORY_MB"):
            cfg.script_max_memory = int(env["SH_EMULATOR_SCRIPT_MAX_MEMORY_MB"]) * 1024 * 1024
        if env.get("SH_EMULATOR_WORKERS"):
            cfg.workers = int(env["SH_EMULATOR_WORKERS"])
            cfg.v8_pool_size = cfg.workers
        cfg.batch = BatchSettings(
            s3_endpoint=env.get("SH_EMULATOR_S3_ENDPOINT") or None,
            tile_concurrency=int(env.get("SH_EMULATOR_BATCH_TILE_CONCURRENCY") or 2),
            restart_lock_s=float(env.get("SH_EMULATOR_BATCH_RESTART_LOCK_S") or 1800),
            execution_db_interval_s=float(env.get("SH_EMULATOR_BATCH_EXECUTION_DB_INTERVAL_S") or 2))
        if env.get("SH_EMULATOR_CHUNK_VALUES"):
            cfg.render_chunk_values = int(env["SH_EMULATOR_CHUNK_VALUES"])
        cfg.s3_endpoint_url = env.get("SH_EMULATOR_S3_ENDPOINT") or None
        return cfg
