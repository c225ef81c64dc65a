"""Processes whose real work happens in the executor: save_result (returns the data for the
executor to encode in the format the plan names), load_result (delegates to an injected loader), inspect
(logs) and sar_backscatter (a marker: the compiler maps its options onto Sentinel Hub's S1
processing, so the evaluator returns the input cube unchanged)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .errors import ProcessError
from .registry import ExecutionContext, process, required


@process("save_result")
def save_result(args: dict, ctx: ExecutionContext) -> Any:
    required(args, "format", "save_result")
    return required(args, "data", "save_result")


@process("load_result", hook="load_result", experimental=True)
def load_result(args: dict, ctx: ExecutionContext) -> Any:
    if ctx.load_result is None:
        raise ProcessError("ProcessUnsupported", "load_result is not available in this execution context.")
    return ctx.load_result(
        required(args, "id", "load_result"),
        spatial_extent=args.get("spatial_extent"),
        temporal_extent=args.get("temporal_extent"),
        bands=args.get("bands"),
    )


def _summary(data: Any) -> Any:
    if isinstance(data, xr.DataArray) and data.chunks is not None:
        # a chunked cube is not computed for a log line (its statistics would cost a second pass)
        return {"dims": list(data.dims), "shape": list(data.shape), "dtype": str(data.dtype),
                "chunks": [max(c) for c in data.chunks]}
    if isinstance(data, xr.DataArray):
        with np.errstate(all="ignore"):
            finite = data.values[np.isfinite(data.values)] if np.issubdtype(data.dtype, np.number) else np.array([])
        return {
            "dims": list(data.dims),
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None,
            "nodata_count": int(np.isnan(data.values).sum()) if np.issubdtype(data.dtype, np.floating) else 0,
        }
    return data


@process("inspect", experimental=True)
def inspect(args: dict, ctx: ExecutionContext) -> Any:
    data = required(args, "data", "inspect")
    level = args.get("level", "info")
    message = args.get("message", "")
    code = args.get("code", "User")
    record = {"level": level, "message": message, "code": code, "data": _summary(data), "node_id": ctx.node_id}
    ctx.inspections.append(record)
    log = {"error": ctx.logger.error, "warning": ctx.logger.warning, "info": ctx.logger.info}.get(level, ctx.logger.debug)
    log("inspect %s: %s %s", code, message, record["data"])
    return data


@process("sar_backscatter", experimental=True)
def sar_backscatter(args: dict, ctx: ExecutionContext) -> Any:
    return required(args, "data", "sar_backscatter")
