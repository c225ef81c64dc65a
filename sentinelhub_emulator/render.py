"""Process API rendering: synthetic data → evalscript (V8) → sample types → encoded outputs.

Runs entirely in a worker thread (called through an executor by the HTTP handler).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from . import world
from .encode import EXTENSIONS, encode_raster, multipart_bundle, tar_bundle, userdata_bytes
from .errors import SHError, bad_request, renderer_error
from .evalscript import EvalscriptError, ScriptSession, V8Pool
from .process_request import ProcessPlan
from .pu import count_input_bands, processing_units, s1_factor
from .sampletype import SAMPLE_TYPES, convert

MOSAICKING = ("SIMPLE", "ORBIT", "TILE")


@dataclass
class OutputSpec:
    id: str
    bands: int
    sample_type: str = "AUTO"
    nodata: float | None = None


@dataclass
class SourceSpec:
    key: str
    data_index: int
    bands: list[str]
    units: list[str | None]
    mosaicking: str


@dataclass
class RenderResult:
    body: bytes
    content_type: str
    pu: float
    extra: dict = field(default_factory=dict)


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
        if not isinstance(nb, int) or isinstance(nb, bool) or nb < 0:
            raise renderer_error("setup(): output 'bands' must be a non-negative integer.")
        outputs.append(OutputSpec(str(o.get("id", "default")), nb, st, o.get("nodataValue")))
    if len({o.id for o in outputs}) != len(outputs):
        raise renderer_error("setup(): output ids must be unique.")
    return sources, outputs


def _check_responses(plan: ProcessPlan, outputs: list[OutputSpec]) -> None:
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


def geometry_mask(plan: ProcessPlan) -> np.ndarray | None:
    if plan.geometry is None:
        return None
    import shapely
    from shapely.geometry import shape

    geom = shape(plan.geometry)
    shapely.prepare(geom)
    x, y = world.pixel_centers(plan.bbox, plan.width, plan.height)
    return shapely.contains_xy(geom, x, y).reshape(-1)


class _SourceLayer:
    """One datasource's samples for the current chunk, written into its V8 ArrayBuffer."""

    def __init__(self, source: SourceSpec, collection: str, nodata: float, dates: list, count: int):
        self.source = source
        self.collection = collection
        self.nodata = nodata
        self.dates = dates
        self.count = count
        self.buf: np.ndarray | None = None

    def fill(self, lon: np.ndarray, lat: np.ndarray, mask: np.ndarray | None, n: int) -> None:
        nb = len(self.source.bands)
        if self.count == 0:
            return
        view = self.buf[: self.count * nb * n].reshape(self.count, nb, n)
        for k in range(self.count):
            if k >= len(self.dates):  # SIMPLE without any acquisition: no data
                for j, b in enumerate(self.source.bands):
                    view[k, j] = 0.0 if b == "dataMask" else self.nodata
                continue
            vals = world.band_values(self.collection, self.source.bands, self.dates[k], lon, lat, self.source.units)
            for j, b in enumerate(self.source.bands):
                v = np.reshape(vals[b], -1)
                if mask is None:
                    view[k, j] = v
                else:
                    view[k, j] = np.where(mask, v, 0.0 if b == "dataMask" else self.nodata)


class Renderer:
    def __init__(self, pool: V8Pool, timeout_s: float, chunk_values: int = 8 * 1024 * 1024):
        self.pool = pool
        self.timeout_s = timeout_s
        self.chunk_values = chunk_values  # float64 input values per V8 round trip (bounds memory use)

    def render(self, plan: ProcessPlan) -> RenderResult:
        try:
            with ScriptSession(self.pool, self.timeout_s) as session:
                return self._render(session, plan)
        except EvalscriptError as exc:
            raise renderer_error(f"Failed to evaluate script!\n{exc}") from None

    def _render(self, session: ScriptSession, plan: ProcessPlan) -> RenderResult:
        setup = session.load(plan.evalscript)
        sources, outputs = normalize_setup(setup, plan)
        _check_responses(plan, outputs)
        fusion = len(plan.data) > 1
        # Scenes per source, in mosaicking order (one per UTC day).
        dates: dict[str, list] = {}
        for s in sources:
            d = plan.data[s.data_index]
            dates[s.key] = world.mosaic_dates(d.collection, d.time_from, d.time_to, d.mosaicking_order,
                                              d.max_cloud_coverage)
        t_from = min(plan.data[s.data_index].time_from for s in sources)
        t_to = max(plan.data[s.data_index].time_to for s in sources)
        cfg = {"from": t_from.isoformat().replace("+00:00", "Z"), "to": t_to.isoformat().replace("+00:00", "Z"),
               "fusion": fusion, "outputs": {o.id: o.bands for o in outputs},
               "datasources": [self._scene_cfg(s, plan.data[s.data_index].collection, dates[s.key])
                               for s in sources]}
        prep = session.prepare(cfg)
        for o in outputs:
            o.bands = int(prep["bands"][o.id])
        lon, lat = world.pixel_centers_lonlat(plan.bbox, plan.epsg, plan.width, plan.height, views=True)
        mask = geometry_mask(plan)
        layers: list[_SourceLayer] = []
        n_samples = 1
        for s in sources:
            d = plan.data[s.data_index]
            spec = world.collection_spec(d.collection)
            chosen = [dates[s.key][i] for i in prep["retained"][s.key]]
            if s.mosaicking == "SIMPLE":
                if spec.epoch is None:
                    chosen = [None]
                chosen = chosen[:1]
                count = 1 if (chosen or not fusion) else 0
            else:
                count = len(chosen)
                n_samples = max(n_samples, count)
            layers.append(_SourceLayer(s, d.collection, spec.nodata, chosen, count))
        dn = any(u == "DN" for s in sources for u in s.units)
        values_per_pixel = max(1, sum(layer.count * len(layer.source.bands) for layer in layers))
        rows = max(1, min(plan.height, self.chunk_values // (values_per_pixel * plan.width)))
        for layer in layers:
            layer.buf = session.alloc(layer.source.key, max(1, layer.count * len(layer.source.bands) * rows * plan.width))
        results = {o.id: np.empty((plan.height * plan.width, o.bands)) for o in outputs}
        total = sum(o.bands for o in outputs)
        for r0 in range(0, plan.height, rows):
            r1 = min(plan.height, r0 + rows)
            n = (r1 - r0) * plan.width
            clon, clat = lon[r0:r1], lat[r0:r1]  # 2-D (possibly broadcast) row slices
            cmask = None if mask is None else mask[r0 * plan.width: r1 * plan.width]
            for layer in layers:
                layer.fill(clon, clat, cmask, n)
            spec_run = {"npix": n, "fusion": fusion,
                        "datasources": [{"key": layer.source.key, "bands": layer.source.bands,
                                         "simple": layer.source.mosaicking == "SIMPLE", "count": layer.count}
                                        for layer in layers],
                        "outputs": [{"id": o.id, "bands": o.bands} for o in outputs],
                        "normalization": 1 if dn else 0.0001}
            raw = session.run(spec_run, total)
            off = 0
            for o in outputs:
                results[o.id][r0 * plan.width: r1 * plan.width] = raw[off: off + n * o.bands].reshape(n, o.bands)
                off += n * o.bands
        userdata = session.metadata()
        return self._encode(plan, sources, outputs, results, userdata, n_samples)

    @staticmethod
    def _scene_cfg(s: SourceSpec, collection: str, dates: list) -> dict:
        spec = world.collection_spec(collection)
        cfg = {"key": s.key, "mosaicking": s.mosaicking, "collection": collection,
               "dates": [x.strftime("%Y-%m-%dT%H:%M:%SZ") for x in dates],
               "shIds": [int(x.timestamp()) // 86400 for x in dates]}
        if spec.has_cloud_cover:
            cfg["cc"] = [world.scene_cloud_cover(collection, x) for x in dates]
        return cfg

    def _encode(self, plan, sources, outputs, results, userdata, n_samples) -> RenderResult:
        blocks = {o.id: (o, results[o.id].reshape(plan.height, plan.width, o.bands).transpose(2, 0, 1))
                  for o in outputs}
        members = []
        for r in plan.responses:
            if r.identifier == "userdata":
                members.append((r, "userdata.json", userdata_bytes(userdata)))
                continue
            o, blk = blocks[r.identifier]
            if o.bands == 0:
                raise renderer_error(f"Output '{o.id}' has 0 bands and cannot be encoded.")
            data = convert(blk, o.sample_type)
            payload = encode_raster(data, r.format, plan.bbox, plan.epsg, o.nodata, r.quality)
            members.append((r, f"{r.identifier}.{EXTENSIONS[r.format]}", payload))
        float32_tiff = any(r.format == "image/tiff" and blocks[r.identifier][0].sample_type == "FLOAT32"
                           for r in plan.responses if r.identifier != "userdata")
        octet = any(r.format == "application/octet-stream" for r in plan.responses)
        n_bands = sum(count_input_bands(s.bands) for s in sources)
        collections = {plan.data[s.data_index].collection for s in sources}
        s1 = 1.0
        for s in sources:
            d = plan.data[s.data_index]
            if d.collection == "sentinel-1-grd":
                s1 = max(s1, s1_factor(d.processing))
        pu = processing_units(plan.width, plan.height, n_bands, float32_tiff, octet, n_samples,
                              len(collections) if len(plan.data) > 1 else 1, s1)
        if plan.container is None and len(members) == 1:
            r, _, payload = members[0]
            return RenderResult(payload, r.format, pu)
        if plan.container is None and not members:
            raise SHError(400, "No outputs requested.")
        files = [(name, p) for _, name, p in members]
        if plan.container == "multipart":
            boundary = "sh-emulator-" + uuid.uuid4().hex
            return RenderResult(multipart_bundle(files, boundary), f"multipart/mixed; boundary={boundary}", pu)
        return RenderResult(tar_bundle(files), "application/x-tar", pu)
