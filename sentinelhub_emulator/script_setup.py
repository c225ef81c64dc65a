"""The evalscript's ``setup()`` result, normalised and checked against the request."""
from __future__ import annotations

from dataclasses import dataclass

from . import world
from .errors import bad_request, renderer_error
from .process_request import ProcessPlan
from .sampletype import SAMPLE_TYPES

MOSAICKING = ("SIMPLE", "ORBIT", "TILE")


@dataclass
class OutputSpec:
    id: str
    bands: int
    sample_type: str = "AUTO"
    nodata: float | None = None
    #: The names when `bands` was given as a list (the Statistical API keys its results by them).
    band_names: list[str] | None = None


@dataclass
class SourceSpec:
    key: str
    data_index: int
    bands: list[str]
    units: list[str | None]
    mosaicking: str


def _norm_units(units, bands: list[str], collection: str) -> list[str | None]:
    if units is None:
        return [None] * len(bands)
    if isinstance(units, str):
        units = [units] * len(bands)
    if not isinstance(units, list) or len(units) != len(bands):
        raise renderer_error("setup(): 'units' must be a string or a list with one unit per band.")
    spec = world.collection_spec(collection)
    out = []
    for b, u in zip(bands, units):
        bspec = spec.band(b)
        if b == "dataMask":
            out.append(None)
            continue
        if u not in bspec.units:
            raise renderer_error(f"setup(): unit '{u}' is not supported for band {b} of {collection}.")
        out.append(u)
    return out


def normalize_setup(setup: dict, plan: ProcessPlan) -> tuple[list[SourceSpec], list[OutputSpec]]:
    raw_inputs = setup.get("input")
    if raw_inputs is None:
        raise renderer_error("setup(): 'input' is required.")
    if isinstance(raw_inputs, dict):
        raw_inputs = [raw_inputs]
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise renderer_error("setup(): 'input' must be a non-empty array.")
    if all(isinstance(x, str) for x in raw_inputs):
        raw_inputs = [{"bands": raw_inputs}]
    default_mosaicking = str(setup.get("mosaicking", "SIMPLE")).upper()
    fusion = len(plan.data) > 1
    ids = {d.id: i for i, d in enumerate(plan.data) if d.id is not None}
    sources: list[SourceSpec] = []
    for pos, item in enumerate(raw_inputs):
        if not isinstance(item, dict) or not isinstance(item.get("bands"), list):
            raise renderer_error("setup(): every input needs a 'bands' array.")
        ds = item.get("datasource")
        if ds is not None:
            if ds not in ids:
                raise renderer_error(f"setup(): datasource '{ds}' does not match any input.data[].id.")
            idx = ids[ds]
        else:
            idx = pos if fusion else 0
            if idx >= len(plan.data):
                raise renderer_error("setup(): more inputs than input.data items.")
        data = plan.data[idx]
        key = ds if ds is not None else (data.id if data.id is not None else str(idx))
        spec = world.collection_spec(data.collection)
        bands = [str(b) for b in item["bands"]]
        unknown = [b for b in bands if b not in spec.band_names]
        if unknown:
            raise renderer_error(f"Script requests band(s) {', '.join(unknown)} which do not exist in {spec.id}. "
                                 f"Available bands: {', '.join(spec.band_names)}.")
        mos = str(item.get("mosaicking", default_mosaicking)).upper()
        if mos not in MOSAICKING:
            raise renderer_error(f"setup(): unknown mosaicking '{mos}'.")
        if mos not in spec.mosaicking:
            raise renderer_error(f"Mosaicking {mos} is not supported for {spec.id}.")
        units = _norm_units(item.get("units"), bands, spec.id)
        if any(s.key == key for s in sources):
            raise renderer_error(f"setup(): datasource '{key}' listed twice.")
        sources.append(SourceSpec(key, idx, bands, units, mos))
    raw_out = setup.get("output", [])
    if isinstance(raw_out, dict):
        raw_out = [raw_out]
    outputs = []
    for o in raw_out:
        if not isinstance(o, dict):
            raise renderer_error("setup(): 'output' entries must be objects.")
        st = str(o.get("sampleType", "AUTO")).upper()
        if st not in SAMPLE_TYPES:
            raise renderer_error(f"setup(): unknown sampleType '{st}'.")
        nb = o.get("bands", 1)
        names = None
        if isinstance(nb, list) and nb and all(isinstance(b, str) for b in nb):
            names, nb = [str(b) for b in nb], len(nb)
        if not isinstance(nb, int) or isinstance(nb, bool) or nb < 0:
            raise renderer_error("setup(): output 'bands' must be a non-negative integer or a list of band names.")
        outputs.append(OutputSpec(str(o.get("id", "default")), nb, st, o.get("nodataValue"), names))
    if len({o.id for o in outputs}) != len(outputs):
        raise renderer_error("setup(): output ids must be unique.")
    return sources, outputs


def check_responses(plan: ProcessPlan, outputs: list[OutputSpec]) -> None:
    by_id = {o.id: o for o in outputs}
    for r in plan.responses:
        if r.identifier == "userdata":
            continue
        if r.identifier not in by_id:
            raise bad_request(f"Output '{r.identifier}' requested in output.responses is not defined by the "
                              f"evalscript (outputs: {', '.join(by_id) or 'none'}).")
        o = by_id[r.identifier]
        if r.format == "image/jpeg" and (o.sample_type not in ("AUTO", "UINT8") or o.bands not in (1, 3)):
            raise bad_request(f"JPEG output '{o.id}' needs sampleType AUTO or UINT8 and 1 or 3 bands.")
        if r.format == "image/png" and (o.sample_type not in ("AUTO", "UINT8", "UINT16") or o.bands not in (1, 2, 3, 4)):
            raise bad_request(f"PNG output '{o.id}' needs sampleType AUTO, UINT8 or UINT16 and 1-4 bands.")
