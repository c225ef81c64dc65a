"""Compiler settings, read from the environment once at start (see the README's configuration table)."""

from __future__ import annotations

from dataclasses import dataclass

from backend_common.config import env_bool, env_float, env_int, env_str, service_listen


@dataclass(frozen=True)
class PlanningSettings:
    """What plans may ask for, and where this back-end's results live."""

    #: pixels x dates of a synchronous request (above: ProcessGraphComplexity, use a batch job)
    sync_max_pixels: float = 2500 * 2500 * 50
    #: the largest grid of one load, for any purpose
    max_load_pixels: float = 50_000 * 50_000
    #: nodes of a process graph, callbacks and the user-defined processes it calls included
    #: (above: ProcessGraphComplexity before any other work)
    max_nodes: int = 10_000
    #: the API's public base URL: `load_result` / `load_stac` URLs of this back-end start with it
    #: ("" accepts results URLs of any host)
    public_url: str = ""
    #: the largest array a graph may create and kernel it may apply (the executor's limits too)
    max_array_elements: int = 50_000_000
    max_kernel_elements: int = 101 * 101
    #: aggregate_spatial of a pushed-down load asks Sentinel Hub's Statistical API (False: the
    #: raster path), and a batch job with at least this many geometries Batch Statistical
    statistical_api: bool = True
    batch_statistics_min_geometries: int = 1000
    #: load pixels above which a batch job runs on Sentinel Hub's Batch Processing API (one
    #: Process API request serves 2500 x 2500); 0 = never
    batch_api_min_pixels: float = 2500 * 2500

    @classmethod
    def from_env(cls) -> "PlanningSettings":
        return cls(sync_max_pixels=env_float("SYNC_MAX_PIXELS", cls.sync_max_pixels),
                   max_load_pixels=env_float("COMPILER_MAX_LOAD_PIXELS", cls.max_load_pixels),
                   max_nodes=env_int("COMPILER_MAX_NODES", cls.max_nodes),
                   public_url=env_str("GATEWAY_PUBLIC_URL", "").rstrip("/"),
                   max_array_elements=env_int("MAX_ARRAY_ELEMENTS", cls.max_array_elements),
                   max_kernel_elements=env_int("MAX_KERNEL_ELEMENTS", cls.max_kernel_elements),
                   statistical_api=env_bool("STATISTICAL_API", cls.statistical_api),
                   batch_statistics_min_geometries=env_int("BATCH_STATISTICS_MIN_GEOMETRIES",
                                                           cls.batch_statistics_min_geometries),
                   batch_api_min_pixels=env_float("COMPILER_BATCH_API_MIN_PIXELS", cls.batch_api_min_pixels))


@dataclass(frozen=True)
class CompilerConfig:
    listen: str = "127.0.0.1:50051"
    log_level: str = "info"
    planning: PlanningSettings = PlanningSettings()

    @classmethod
    def from_env(cls) -> "CompilerConfig":
        return cls(listen=service_listen("compiler"), log_level=env_str("LOG_LEVEL", cls.log_level),
                   planning=PlanningSettings.from_env())
