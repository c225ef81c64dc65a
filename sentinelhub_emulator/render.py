"""Process API rendering: synthetic data → evalscript (V8) → sample types → encoded outputs.

Runs entirely in a worker thread (called through an executor by the HTTP handler).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from . import filters, world
from .encode import EXTENSIONS, encode_raster, multipart_bundle, tar_bundle, userdata_bytes
from .errors import SHError, renderer_error
from .evalscript import EvalscriptError, ScriptSession, V8Pool
from .process_request import ProcessPlan
from .pu import count_input_bands, processing_units, s1_factor
from .sampletype import convert
from .script_setup import SourceSpec, check_responses, normalize_setup


@dataclass
class RenderResult:
    body: bytes
    content_type: str
    pu: float
    extra: dict = field(default_factory=dict)


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

    def __init__(self, source: SourceSpec, collection: str, nodata: float, dates: list, count: int,
                 options: dict | None = None):
        self.options = options or {}
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
            vals = world.band_values(self.collection, self.source.bands, self.dates[k], lon, lat, self.source.units,
                                     self.options)
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
        check_responses(plan, outputs)
        fusion = len(plan.data) > 1
        # Scenes per source, in mosaicking order (one per UTC day).
        dates: dict[str, list] = {}
        for s in sources:
            d = plan.data[s.data_index]
            filters.check_bands(d.collection, s.bands, d.options)
            t_from = d.time_from
            if d.collection == "sentinel-5p-l2" and s.mosaicking == "SIMPLE":  # SH: the 24 h before `to`
                t_from = max(t_from, d.time_to - timedelta(hours=24))
            dates[s.key] = world.mosaic_dates(d.collection, t_from, d.time_to, d.mosaicking_order,
                                              d.max_cloud_coverage, d.orbit_direction, d.options)
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
            layers.append(_SourceLayer(s, d.collection, spec.nodata, chosen, count, d.options))
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
        # f_fusion = local collections + 2 · remote ones
        collections = {plan.data[s.data_index].collection: plan.data[s.data_index].remote for s in sources}
        s1 = 1.0
        for s in sources:
            d = plan.data[s.data_index]
            if d.collection == "sentinel-1-grd":
                s1 = max(s1, s1_factor(d.processing))
        pu = processing_units(plan.width, plan.height, n_bands, float32_tiff, octet, n_samples,
                              sum(2 if remote else 1 for remote in collections.values()) if len(plan.data) > 1 else 1, s1)
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
