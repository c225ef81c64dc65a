"""The Process API requests a plan will really send, and their processing units (pure).

Sentinel Hub charges each request separately (its own minimums, §2.6), so the estimate follows
what the executor sends: each load as one request, split by the client into tiles when larger than
its threshold (`sentinelhub.grid`), and a synchronous request's image fast path as a PNG (format
factor 1) instead of the FLOAT32 GeoTIFF (factor 2)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from backend_common.processing_units import FLOAT32_TIFF, OTHER_FORMAT, input_band_count, request_pu
from backend_proto.v1 import compiler_pb2

from ..sentinelhub.grid import PixelGrid, needs_split, split_grid

_SETUP_PREFIX = "function setup(){return "
S1_TYPE = "sentinel-1-grd"


@dataclass(frozen=True)
class LoadCost:
    """What decides the PUs of one load's requests, apart from their size."""
    n_input_bands: int
    orbit: bool  # ORBIT mosaicking: one sample per acquisition in the time range
    s1_factor: float
    fusion: int


@dataclass(frozen=True)
class PlannedRequest:
    load_index: int
    width: int
    height: int
    format_factor: float


def evalscript_setup(evalscript: str) -> dict | None:
    """The object the compiler's evalscript `setup()` returns (one JSON line), None for others."""
    for line in evalscript.splitlines():
        if line.startswith(_SETUP_PREFIX) and line.endswith(";}"):
            try:
                return json.loads(line[len(_SETUP_PREFIX):-2])
            except ValueError:
                return None
    return None


def s1_factor(processing: dict) -> float:
    """×2.5 radiometric terrain correction (else ×2 orthorectification), ×2 speckle filtering."""
    factor = 1.0
    if processing.get("backCoeff") == "GAMMA0_TERRAIN":
        factor *= 2.5
    elif processing.get("orthorectify"):
        factor *= 2.0
    if (processing.get("speckleFilter") or {}).get("type") not in (None, "NONE"):
        factor *= 2.0
    return factor


def load_cost(load) -> LoadCost:
    setup = evalscript_setup(load.evalscript) or {}
    bands: list[str] = []
    for item in setup.get("input") or []:
        bands.extend(item.get("bands") or [] if isinstance(item, dict) else [item])
    if not bands:
        bands = list(load.band_labels) or ["dataMask"]
    processing = json.loads(load.processing_json) if load.processing_json else {}
    extra = json.loads(load.extra_inputs_json) if load.extra_inputs_json else []
    types = {load.sh_type} | {e.get("type") for e in extra if isinstance(e, dict)}
    mosaicking = str(setup.get("mosaicking") or load.mosaicking or "SIMPLE").upper()
    return LoadCost(
        n_input_bands=input_band_count(bands),
        orbit=mosaicking != "SIMPLE",
        s1_factor=s1_factor(processing) if load.sh_type == S1_TYPE else 1.0,
        fusion=len(types) if extra else 1,
    )


def _load_requests(index: int, load, *, split_threshold: int, tile_size: int, image: bool) -> list[PlannedRequest]:
    factor = OTHER_FORMAT if image else FLOAT32_TIFF
    grid = PixelGrid(0.0, 0.0, float(load.width), float(load.height), load.width, load.height, 4326)
    if not needs_split(grid, split_threshold):
        return [PlannedRequest(index, load.width, load.height, factor)]
    return [PlannedRequest(index, t.width, t.height, factor) for t in split_grid(grid, tile_size)]


def planned_requests(plan, *, split_threshold: int, tile_size: int, batch_job: bool) -> list[PlannedRequest]:
    """Every request the plan sends; a synchronous request's image fast path as one PNG when it
    applies (jobs encode their files themselves)."""
    image = (not batch_job and plan.strategy == compiler_pb2.RESULT_STRATEGY_IMAGE and len(plan.loads) == 1
             and bool(plan.loads[0].image_evalscript)
             and max(plan.loads[0].width, plan.loads[0].height) <= split_threshold)
    out: list[PlannedRequest] = []
    for index, load in enumerate(plan.loads):
        out.extend(_load_requests(index, load, split_threshold=split_threshold, tile_size=tile_size, image=image))
    return out


def requests_pu(requests: list[PlannedRequest], costs: list[LoadCost], samples: list[int]) -> float:
    """Sum of the requests' PUs; `samples[i]`: the acquisitions load i's ORBIT requests receive."""
    total = 0.0
    for r in requests:
        c = costs[r.load_index]
        total += request_pu(r.width, r.height, c.n_input_bands, format_factor=r.format_factor,
                            samples=samples[r.load_index] if c.orbit else 1, fusion=c.fusion, s1_factor=c.s1_factor)
    return total
