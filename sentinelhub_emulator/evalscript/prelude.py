"""JavaScript installed once in every pooled V8 context: SH globals and the pixel driver."""

PRELUDE_JS = r"""
var SampleType = {AUTO: "AUTO", UINT8: "UINT8", UINT16: "UINT16", INT8: "INT8", INT16: "INT16", FLOAT32: "FLOAT32"};
var Mosaicking = {SIMPLE: "SIMPLE", ORBIT: "ORBIT", TILE: "TILE"};
var JAVA_DOUBLE_MAX_VAL = 1.7976931348623157e308;
function index(a, b) { var s = a + b; return s === 0 ? 0 : (a - b) / s; }
function inverse(v) { return v === 0 ? JAVA_DOUBLE_MAX_VAL : 1 / v; }
function combine(c1, c2, f) { var r = []; for (var i = 0; i < c1.length; i++) r.push(c1[i] * f + c2[i] * (1 - f)); return r; }
function valueMap(v, limits, values) { for (var i = 0; i < limits.length; i++) if (v <= limits[i]) return values[i]; return values[values.length - 1]; }
function int2rgb(c) { return [(c >> 16) & 255, (c >> 8) & 255, c & 255]; }
function rgb2int(rgb) { return ((rgb[0] & 255) << 16) | ((rgb[1] & 255) << 8) | (rgb[2] & 255); }
function normalizeRGB(rgb) { return [rgb[0] / 255, rgb[1] / 255, rgb[2] / 255]; }

// Sentinel Hub scripts get no timers: neutralise mini-racer's setTimeout polyfill (its globals are not
// configurable, so they are replaced) — no deferred work can survive into another request.
(function () { ["setTimeout", "clearTimeout", "setInterval", "clearInterval"].forEach(function (k) {
  var stub = function () { throw new Error(k + " is not available in evalscripts"); };
  try { if (!delete globalThis[k]) globalThis[k] = stub; } catch (e) { globalThis[k] = stub; } }); })();

var __emu = {};
(function () {
  var g = globalThis;
  // Objects whose own properties a script could tamper with to leak state into later requests.
  var watched = [g, Object, Object.prototype, Array, Array.prototype, Function.prototype, Number, Number.prototype,
                 String, String.prototype, Boolean.prototype, Math, JSON, Date, Date.prototype, RegExp.prototype,
                 Promise, Promise.prototype, Symbol, Map.prototype, Set.prototype, Error, Error.prototype,
                 Float64Array.prototype, Float32Array.prototype, Uint8Array.prototype, ArrayBuffer.prototype,
                 Object.getPrototypeOf(Float64Array.prototype)];
  function snapshot() {
    return watched.map(function (o) {
      var names = Object.getOwnPropertyNames(o).concat(Object.getOwnPropertySymbols(o));
      var vals = names.map(function (n) { var d = Object.getOwnPropertyDescriptor(o, n); return d && ("value" in d ? d.value : d.get); });
      return {names: names, vals: vals, ext: Object.isExtensible(o), proto: Object.getPrototypeOf(o)};
    });
  }
  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) {
      var x = a[i], y = b[i];
      if (x.names.length !== y.names.length || x.ext !== y.ext || x.proto !== y.proto) return false;
      for (var j = 0; j < x.names.length; j++) {
        if (x.names[j] !== y.names[j] || !Object.is(x.vals[j], y.vals[j])) return false;
      }
    }
    return true;
  }
  __emu.baselineNames = Object.getOwnPropertyNames(g);
  __emu.baseline = null;
  __emu.snapshot = snapshot;
  __emu.same = same;
})();

function __emu_load(src) {
  __emu.state = {};
  var names = ["setup", "evaluatePixel", "preProcessScenes", "updateOutput", "updateOutputMetadata"];
  var ret = "return {" + names.map(function (n) { return n + ": (typeof " + n + " === 'function') ? " + n + " : undefined"; }).join(",") + "};";
  var f = new Function(src + "\n;" + ret);
  var fns = f();
  if (!fns.setup) throw new Error("Evalscript must define a setup() function.");
  if (!fns.evaluatePixel) throw new Error("Evalscript must define an evaluatePixel() function.");
  __emu.state.fns = fns;
  var s = fns.setup();
  if (s === null || typeof s !== "object") throw new Error("setup() must return an object.");
  return JSON.stringify(s);
}

// One entry per acquisition day. ORBIT: {date, dateFrom, dateTo, tiles}; TILE: {date, cloudCoverage, dataPath, shId}.
function __emu_scene(ds, i) {
  var d = ds.dates[i], day = d.slice(0, 10);
  var tile = {date: d, shId: ds.shIds[i], dataPath: "s3://emulator/" + ds.collection + "/" + day};
  if (ds.cc) tile.cloudCoverage = ds.cc[i];
  if (ds.mosaicking === "TILE") {
    var t = {date: new Date(d), dateFrom: day + "T00:00:00Z", dateTo: day + "T23:59:59Z", shId: tile.shId,
             dataPath: tile.dataPath, tiles: [tile]};
    if (ds.cc) t.cloudCoverage = ds.cc[i];
    return t;
  }
  return {date: new Date(d), dateFrom: day + "T00:00:00Z", dateTo: day + "T23:59:59Z", tiles: [tile]};
}

function __emu_scene_list(ds, idx) {
  var arr = idx.map(function (i) { return __emu_scene(ds, i); });
  arr.orbits = arr;
  arr.tiles = arr;
  return arr;
}

// cfg: {from, to, fusion, outputs: {id: bands}, datasources: [{key, mosaicking, dates: [iso]}]}
function __emu_prepare(cfgJson) {
  var cfg = JSON.parse(cfgJson), st = __emu.state, fns = st.fns;
  var retained = {};
  cfg.datasources.forEach(function (ds) { retained[ds.key] = ds.dates.map(function (_, i) { return i; }); });
  var temporal = cfg.datasources.filter(function (ds) { return ds.mosaicking !== "SIMPLE"; });
  if (fns.preProcessScenes && temporal.length > 0) {
    var mk = function (ds) {
      var list = ds.dates.map(function (d, i) {
        var day = d.slice(0, 10);
        if (ds.mosaicking === "TILE") {
          var t = {date: d, shId: ds.shIds[i], dataPath: "s3://emulator/" + ds.collection + "/" + day, __idx: i};
          if (ds.cc) t.cloudCoverage = ds.cc[i];
          return t;
        }
        return {dateFrom: day + "T00:00:00Z", dateTo: day + "T23:59:59Z", __idx: i};
      });
      return ds.mosaicking === "TILE" ? {scenes: {tiles: list}} : {scenes: {orbits: list}};
    };
    var coll;
    if (cfg.fusion) {
      coll = {from: new Date(cfg.from), to: new Date(cfg.to)};
      temporal.forEach(function (ds) { coll[ds.key] = mk(ds); });
    } else {
      coll = mk(temporal[0]);
      coll.from = new Date(cfg.from); coll.to = new Date(cfg.to);
    }
    var res = fns.preProcessScenes(coll);
    if (res === undefined || res === null) throw new Error("preProcessScenes() must return the collections object.");
    var pick = function (c) {
      var orbits = (c && c.scenes && (c.scenes.orbits || c.scenes.tiles)) || [];
      return orbits.map(function (o) { return o.__idx; }).filter(function (i) { return typeof i === "number"; });
    };
    if (cfg.fusion) temporal.forEach(function (ds) { retained[ds.key] = pick(res[ds.key]); });
    else retained[temporal[0].key] = pick(res);
  }
  st.scenes = {};
  cfg.datasources.forEach(function (ds) {
    st.scenes[ds.key] = __emu_scene_list(ds, retained[ds.key]);
  });
  var outputs = {};
  for (var id in cfg.outputs) outputs[id] = {bands: cfg.outputs[id]};
  if (fns.updateOutput) {
    var collection;
    if (cfg.fusion) {
      collection = {};
      cfg.datasources.forEach(function (ds) { collection[ds.key] = {scenes: st.scenes[ds.key]}; });
    } else {
      collection = {scenes: st.scenes[cfg.datasources[0].key]};
    }
    fns.updateOutput(outputs, collection);
  }
  var bands = {};
  for (var oid in outputs) {
    var b = outputs[oid].bands;
    if (typeof b !== "number" || !isFinite(b) || b < 0 || Math.floor(b) !== b) throw new Error("Output " + oid + " has an invalid number of bands: " + b);
    bands[oid] = b;
  }
  return JSON.stringify({retained: retained, bands: bands});
}

function __emu_alloc(key, nbytes) {
  if (!__emu.state.bufs) __emu.state.bufs = {};
  var buf = new ArrayBuffer(nbytes);
  __emu.state.bufs[key] = buf;
  return buf;
}

function __emu_maker(bands) {
  var body = "return {" + bands.map(function (b, j) { return JSON.stringify(b) + ": a[o + " + j + " * n]"; }).join(", ") + "};";
  return new Function("a", "o", "n", body);
}

// spec: {npix, fusion, datasources: [{key, bands, simple, count}], outputs: [{id, bands}], normalization}
// Called once per chunk of pixels; script globals, customData and outputMetadata persist across chunks.
function __emu_run(specJson) {
  var spec = JSON.parse(specJson), st = __emu.state, evaluatePixel = st.fns.evaluatePixel;
  var n = spec.npix, dss = spec.datasources, outs = spec.outputs, nds = dss.length;
  var total = 0, offs = [];
  for (var k = 0; k < outs.length; k++) { offs.push(total * n); total += outs[k].bands; }
  var out = new Float64Array(total * n);
  st.out = out;
  var views = [], makers = [], strides = [];
  for (var d = 0; d < nds; d++) {
    var need = dss[d].count * dss[d].bands.length * n;
    views.push(new Float64Array(st.bufs[dss[d].key], 0, need));
    makers.push(__emu_maker(dss[d].bands));
    strides.push(dss[d].bands.length * n);
  }
  var single = outs.length === 1, nb0 = single ? outs[0].bands : 0, id0 = single ? outs[0].id : null;
  var scenesArg;
  if (spec.fusion) { scenesArg = {}; dss.forEach(function (ds) { scenesArg[ds.key] = st.scenes[ds.key]; }); }
  else scenesArg = dss[0].simple ? {} : st.scenes[dss[0].key];
  if (!st.outputMetadata) st.outputMetadata = {};
  if (!st.customData) st.customData = {};
  var inputMetadata = {serviceVersion: "4.263.0", normalizationFactor: spec.normalization};
  var customData = st.customData, outputMetadata = st.outputMetadata;
  var ds0 = dss[0], view0 = views[0], make0 = makers[0], cnt0 = ds0.count, stride0 = strides[0];
  var mode = spec.fusion ? 2 : (ds0.simple ? 0 : 1);
  for (var i = 0; i < n; i++) {
    var samples;
    if (mode === 0) {
      samples = make0(view0, i, n);
    } else if (mode === 1) {
      samples = new Array(cnt0);
      for (var s = 0; s < cnt0; s++) samples[s] = make0(view0, s * stride0 + i, n);
    } else {
      samples = {};
      for (var d2 = 0; d2 < nds; d2++) {
        var c = dss[d2].count, arr = new Array(c), v = views[d2], m = makers[d2], str = strides[d2];
        for (var s2 = 0; s2 < c; s2++) arr[s2] = m(v, s2 * str + i, n);
        samples[dss[d2].key] = arr;
      }
    }
    var r = evaluatePixel(samples, scenesArg, inputMetadata, customData, outputMetadata);
    if (r === undefined || r === null) continue;
    if (single && typeof r.length === "number") {
      if (r.length !== nb0) throw new Error("Output " + id0 + " requested " + nb0 + " bands but evaluatePixel returned " + r.length + " values.");
      var base = i * nb0;
      for (var b = 0; b < nb0; b++) out[base + b] = r[b];
    } else {
      for (var q = 0; q < outs.length; q++) {
        var o = outs[q], val = r[o.id];
        if (val === undefined || val === null) continue;
        if (typeof val.length !== "number") throw new Error("evaluatePixel must return an array for output " + o.id + ".");
        if (val.length !== o.bands) throw new Error("Output " + o.id + " requested " + o.bands + " bands but evaluatePixel returned " + val.length + " values.");
        var ob = offs[q] + i * o.bands;
        for (var b2 = 0; b2 < o.bands; b2++) out[ob + b2] = val[b2];
      }
    }
  }
  return out.buffer;
}

function __emu_metadata() {
  var st = __emu.state, fns = st.fns, om = st.outputMetadata || {};
  if (fns.updateOutputMetadata) {
    var all = [];
    for (var k in st.scenes) all = all.concat(st.scenes[k]);
    all.orbits = all;  // array form (deprecated but relied upon) plus {orbits}/{tiles} access
    all.tiles = all;
    fns.updateOutputMetadata(all, {serviceVersion: "4.263.0", normalizationFactor: 0.0001}, om);
  }
  return om.userData === undefined ? "null" : JSON.stringify(om.userData);
}

// After a request: drop the script's implicit globals, then verify nothing else changed since the context was
// created (returns false -> the pool discards this V8 context instead of reusing it).
function __emu_reset() {
  __emu.state = {};
  var keep = {};
  __emu.baselineNames.forEach(function (k) { keep[k] = true; });
  Object.getOwnPropertyNames(globalThis).forEach(function (k) {
    if (!keep[k]) { try { delete globalThis[k]; } catch (e) {} }
  });
  var snap = __emu.snapshot();
  if (__emu.baseline === null) { __emu.baseline = snap; return true; }
  return __emu.same(snap, __emu.baseline);
}

// Record the baseline now, then lock the driver's bookkeeping so a script cannot disarm the checks.
__emu_reset();
(function () {
  // Freeze the snapshot containers only (never the builtins they reference).
  __emu.baseline.forEach(function (e) { Object.freeze(e.names); Object.freeze(e.vals); Object.freeze(e); });
  Object.freeze(__emu.baseline);
  Object.freeze(__emu.baselineNames);
  Object.keys(__emu).forEach(function (k) {
    if (k !== "state") Object.defineProperty(__emu, k, {writable: false, configurable: false});
  });
  Object.preventExtensions(__emu);
})();
"""
