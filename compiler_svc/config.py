"""Compiler settings, read from the environment once at start (see the README's configuration table)."""

from __future__ import annotations

from dataclasses import dataclass

from backend_common.config import env_str, service_listen


@dataclass(frozen=True)
class CompilerConfig:
    listen: str = "127.0.0.1:50051"
    log_level: str = "info"

    @classmethod
    def from_env(cls) -> "CompilerConfig":
        return cls(listen=service_listen("compiler"), log_level=env_str("LOG_LEVEL", cls.log_level))
