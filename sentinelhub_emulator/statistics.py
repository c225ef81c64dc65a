"""Statistical API (`POST /api/v1/statistics`, reference §5.4): parsing, aggregation intervals and
the statistics of the evalscript's outputs, masked by its `dataMask` output.

The evalscript runs once per interval through the Process API renderer (same world, same V8
sessions); intervals without any acquisition are omitted from `data`, as Sentinel Hub does.
Assumptions where the reference says "unconfirmed": `stDev` is the sample standard deviation
(n - 1; 0 for a single value), percentiles interpolate linearly between the closest ranks
(numpy's default), and every interval counts as one data sample in the PU formula."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from . import world
from .errors import SHError, bad_request
from .process_request import ProcessPlan, _bounds, _data, _output, parse_datetime
from .pu import count_input_bands, s1_factor
from .render import Renderer
from .sampletype import convert

MIN_PU = 0.01
_DURATION = re.compile(r"^P(?:(\d+)W|(\d+)D)$")
BEHAVIOURS = ("SKIP", "SHORTEN", "EXTEND")


@dataclass
class StatisticalPlan:
    base: ProcessPlan  # grid, bounds, data inputs and evalscript (responses unused)
    intervals: list[tuple[datetime, datetime]]
    calculations: dict


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_interval(of) -> timedelta:
    """ISO-8601 duration of whole days (`P5D`; `P2W` as clients send it); time parts are refused."""
    m = _DURATION.match(of) if isinstance(of, str) else None
    if m is None:
        raise bad_request(f"aggregationInterval.of '{of}' is not supported: use a duration in days such as P1D or P30D.")
    days = int(m.group(1)) * 7 if m.group(1) else int(m.group(2))
    if days < 1:
        raise bad_request("aggregationInterval.of must be at least one day.")
    return timedelta(days=days)


def intervals(t_from: datetime, t_to: datetime, step: timedelta, behaviour: str = "SKIP") -> list[tuple[datetime, datetime]]:
    """Consecutive `[start, start + step)` from `t_from`; the remainder before `t_to` is dropped
    (SKIP), ends at `t_to` (SHORTEN) or runs to full length (EXTEND)."""
    out = []
    start = t_from
    while start + step <= t_to:
        out.append((start, start + step))
        start += step
    if start < t_to:
        if behaviour == "SHORTEN":
            out.append((start, t_to))
        elif behaviour == "EXTEND":
            out.append((start, start + step))
    return out


def _check_calculations(calc) -> dict:
    if calc is None:
        return {}
    if not isinstance(calc, dict):
        raise bad_request("calculations must be an object keyed by output id.")
    for oid, spec in calc.items():
        if not isinstance(spec, dict) or set(spec) - {"histograms", "statistics"}:
            raise bad_request(f"calculations.{oid} may only contain 'histograms' and 'statistics'.")
        for band, h in (spec.get("histograms") or {}).items():
            given = [k for k in ("nBins", "binWidth", "bins") if k in (h or {})]
            if len(given) != 1:
                raise bad_request(f"calculations.{oid}.histograms.{band}: give exactly one of nBins, binWidth, bins.")
            if "nBins" in h and (not isinstance(h["nBins"], int) or h["nBins"] < 1):
                raise bad_request(f"calculations.{oid}.histograms.{band}.nBins must be a positive integer.")
            if "binWidth" in h and (not isinstance(h["binWidth"], (int, float)) or h["binWidth"] <= 0):
                raise bad_request(f"calculations.{oid}.histograms.{band}.binWidth must be positive.")
            if "bins" in h and (not isinstance(h["bins"], list) or len(h["bins"]) < 2
                                or any(not isinstance(v, (int, float)) for v in h["bins"])
                                or sorted(h["bins"]) != h["bins"]):
                raise bad_request(f"calculations.{oid}.histograms.{band}.bins must be at least 2 increasing numbers.")
        for band, st in (spec.get("statistics") or {}).items():
            k = ((st or {}).get("percentiles") or {}).get("k", [])
            if not isinstance(k, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100
                                               for v in k):
                raise bad_request(f"calculations.{oid}.statistics.{band}.percentiles.k must be numbers in 0..100.")
    return calc


def parse_aggregation(body) -> tuple[dict, list[tuple[datetime, datetime]]]:
    """(aggregation object, its intervals); shared with Batch Statistical."""
    agg = body.get("aggregation") if isinstance(body, dict) else None
    if not isinstance(agg, dict):
        raise bad_request("aggregation is required.")
    tr = agg.get("timeRange")
    if not isinstance(tr, dict) or "from" not in tr or "to" not in tr:
        raise bad_request("aggregation.timeRange with 'from' and 'to' is required.")
    t_from, t_to = parse_datetime(tr["from"], "timeRange.from"), parse_datetime(tr["to"], "timeRange.to")
    if t_to <= t_from:
        raise bad_request("aggregation.timeRange.to must be after timeRange.from.")
    ai = agg.get("aggregationInterval")
    if not isinstance(ai, dict) or "of" not in ai:
        raise bad_request("aggregation.aggregationInterval.of is required.")
    behaviour = ai.get("lastIntervalBehavior", "SKIP")
    if behaviour not in BEHAVIOURS:
        raise bad_request(f"aggregationInterval.lastIntervalBehavior must be one of {', '.join(BEHAVIOURS)}.")
    script = agg.get("evalscript")
    if not isinstance(script, str) or not script.strip():
        raise bad_request("aggregation.evalscript is required.")
    if not script.lstrip().startswith("//VERSION=3"):
        raise bad_request("Only evalscript version 3 is supported: the script must start with //VERSION=3.")
    return agg, intervals(t_from, t_to, parse_interval(ai["of"]), behaviour)


def sample_size(agg: dict, bbox) -> tuple[int, int]:
    """The sample matrix: `width`/`height` or `resx`/`resy` with the Process API's rules and limits."""
    try:
        return _output({k: agg[k] for k in ("width", "height", "resx", "resy") if k in agg}, bbox)
    except SHError as exc:  # the same checks, named where the Statistical API has them
        exc.message = exc.message.replace("output.", "aggregation.")
        raise


def parse_statistical_request(body) -> StatisticalPlan:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise bad_request("input is required.")
    agg, spans = parse_aggregation(body)
    bbox, epsg, geometry = _bounds(inp.get("bounds"))
    data = _data(inp.get("data"))
    width, height = sample_size(agg, bbox)
    base = ProcessPlan(bbox, epsg, geometry, width, height, data, [], agg["evalscript"], None)
    return StatisticalPlan(base, spans, _check_calculations(body.get("calculations")))


# ------------------------------------------------------------------ evaluation


class _RawRenderer(Renderer):
    """The Process API renderer, stopping before the encoding: the outputs' pixel values."""

    def _encode(self, plan, sources, outputs, results, userdata, n_samples):
        return sources, outputs, results, n_samples


def _f(v: float):
    return float(v) if math.isfinite(v) else "NaN"


def _histogram(values: np.ndarray, spec: dict, vmin: float, vmax: float) -> dict:
    if "bins" in spec:
        edges = np.asarray(spec["bins"], dtype=float)
    else:
        lo = float(spec.get("lowEdge", vmin if math.isfinite(vmin) else 0.0))
        hi = float(spec.get("highEdge", vmax if math.isfinite(vmax) else 0.0))
        if "nBins" in spec:
            edges = np.linspace(lo, hi, int(spec["nBins"]) + 1)
        else:
            n = max(1, math.ceil((hi - lo) / float(spec["binWidth"])))
            edges = lo + np.arange(n + 1) * float(spec["binWidth"])
    counts, _ = np.histogram(values[(values >= edges[0]) & (values <= edges[-1])], bins=edges)
    return {"bins": [{"lowEdge": float(a), "highEdge": float(b), "count": int(c)}
                     for a, b, c in zip(edges[:-1], edges[1:], counts)],
            "overflowCount": int(np.sum(values > edges[-1])), "underflowCount": int(np.sum(values < edges[0]))}


def band_stats(values: np.ndarray, valid: np.ndarray, sample_count: int, stat_spec: dict | None,
               hist_spec: dict | None) -> dict:
    """One band's `stats` (and `histogram`) over the pixels `valid` marks."""
    v = values[valid].astype(np.float64)
    n = v.size
    with np.errstate(all="ignore"):
        vmin, vmax = (float(v.min()), float(v.max())) if n else (math.nan, math.nan)
        mean = float(v.mean()) if n else math.nan
        sd = float(v.std(ddof=1)) if n > 1 else (0.0 if n == 1 else math.nan)
    stats = {"min": _f(vmin), "max": _f(vmax), "mean": _f(mean), "stDev": _f(sd),
             "sampleCount": int(sample_count), "noDataCount": int(sample_count - n)}
    ks = ((stat_spec or {}).get("percentiles") or {}).get("k")
    if ks:
        stats["percentiles"] = {str(float(k)): (_f(float(np.percentile(v, k))) if n else "NaN") for k in ks}
    out = {"stats": stats}
    if hist_spec is not None:
        out["histogram"] = _histogram(v, hist_spec, vmin, vmax)
    return out


def _pick(calc: dict, oid: str, kind: str, band: str):
    spec = calc.get(oid) or calc.get("default") or {}
    table = spec.get(kind) or {}
    return table.get(band, table.get("default"))


def output_statistics(outputs, results: dict, width: int, height: int, calculations: dict) -> dict:
    """The `outputs` object of one interval: every output but `dataMask`, masked by it."""
    by_id = {o.id: o for o in outputs}
    mask_out = by_id.get("dataMask")
    if mask_out is None:
        raise bad_request("The evalscript must return an output named 'dataMask' for the Statistical API.")
    masks = results["dataMask"]
    names = mask_out.band_names
    reported = [o for o in outputs if o.id != "dataMask"]
    if names is not None:
        unknown = [n for n in names if n not in by_id or n == "dataMask"]
        if unknown:
            raise bad_request(f"The dataMask output names unknown outputs: {', '.join(unknown)}.")
    elif mask_out.bands != 1:
        raise bad_request("The dataMask output needs 1 band, or one band per output named in its 'bands'.")
    sample_count = width * height
    doc = {}
    for o in reported:
        if names is None:
            mask = masks[:, 0]
        elif o.id in names:
            mask = masks[:, names.index(o.id)]
        else:
            mask = np.ones(masks.shape[0])
        valid = np.nan_to_num(mask) != 0
        sample_type = "FLOAT32" if o.sample_type == "AUTO" else o.sample_type
        values = convert(results[o.id], sample_type).astype(np.float64)
        labels = o.band_names or [f"B{i}" for i in range(o.bands)]
        doc[o.id] = {"bands": {label: band_stats(values[:, i], valid, sample_count,
                                                  _pick(calculations, o.id, "statistics", label),
                                                  _pick(calculations, o.id, "histograms", label))
                               for i, label in enumerate(labels)}}
    return doc


def has_acquisition(plan: ProcessPlan) -> bool:
    for d in plan.data:
        spec = world.collection_spec(d.collection)
        if spec.epoch is None or world.mosaic_dates(d.collection, d.time_from, d.time_to, d.mosaicking_order,
                                                    d.max_cloud_coverage, d.orbit_direction):
            return True
    return False


def interval_pu(plan: ProcessPlan, sources, n_samples: int) -> float:
    """§2.6 without the minimum: the sample matrix, the input bands (dataMask not counted), the
    samples; no format factor (nothing is encoded)."""
    n_bands = sum(count_input_bands(s.bands) for s in sources)
    s1 = max([s1_factor(plan.data[s.data_index].processing) for s in sources
              if plan.data[s.data_index].collection == "sentinel-1-grd"] or [1.0])
    collections = {plan.data[s.data_index].collection for s in sources}
    fusion = len(collections) if len(plan.data) > 1 else 1
    return max(0.01, plan.width * plan.height / (512 * 512)) * n_bands / 3 * max(1, n_samples) * fusion * s1


def compute(renderer: Renderer, splan: StatisticalPlan) -> tuple[dict, float]:
    """(response document, PU) of a Statistical API request (runs in a worker thread)."""
    raw = _RawRenderer(renderer.pool, renderer.timeout_s, renderer.chunk_values)
    data, pu = [], 0.0
    for start, end in splan.intervals:
        last = end - timedelta(microseconds=1)  # intervals are half-open, data time ranges inclusive
        plan = replace(splan.base, data=[replace(d, time_from=start, time_to=last) for d in splan.base.data])
        if not has_acquisition(plan):
            continue
        sources, outputs, results, n_samples = raw.render(plan)
        outs = output_statistics(outputs, results, plan.width, plan.height, splan.calculations)
        data.append({"interval": {"from": iso(start), "to": iso(end)}, "outputs": outs})
        pu += interval_pu(plan, sources, n_samples)
    return {"data": data, "status": "OK"}, max(MIN_PU, pu)
