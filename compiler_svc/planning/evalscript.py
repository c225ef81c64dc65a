"""Evalscript V3 generation (docs/conventions.md contract): one FLOAT32 output `default`, bands
packed time-major, NaN for no-data, userdata {"dates": [...], "bands": [...]}."""

from __future__ import annotations

import json

HELPERS = r"""
function ORB(sc){if(!sc)return [];if(Array.isArray(sc))return sc;return sc.orbits||sc.tiles||[];}
function DT(o){var d=o.dateFrom||o.date;return new Date(d).toISOString().replace(/\.\d{3}Z$/,"Z");}
var ORDER=null;
function order(n,scenes){if(ORDER&&ORDER.length===n)return ORDER;var o=ORB(scenes),idx=[],k;for(k=0;k<n;k++)idx.push(k);
if(o.length===n){var d=[];for(k=0;k<n;k++)d.push(DT(o[k]));idx.sort(function(a,b){return d[a]<d[b]?-1:(d[a]>d[b]?1:a-b);});}
ORDER=idx;return idx;}
function prep(samples,scenes){var arr=Array.isArray(samples)?samples:(samples?[samples]:[]);var idx=order(arr.length,scenes),S=[];
for(var k=0;k<arr.length;k++){var s=arr[idx[k]];S.push(s.dataMask===0?NODATA:s);}return S;}
function MAP(S,f){var v=[];for(var i=0;i<S.length;i++)v.push(f(S[i]));return v;}
function VL(a){var v=[];for(var i=0;i<a.length;i++)if(a[i]===a[i])v.push(a[i]);return v;}
function MEAN(a){a=VL(a);if(!a.length)return NaN;var t=0;for(var i=0;i<a.length;i++)t+=a[i];return t/a.length;}
function SUM(a){a=VL(a);if(!a.length)return NaN;var t=0;for(var i=0;i<a.length;i++)t+=a[i];return t;}
function MIN(a){a=VL(a);return a.length?Math.min.apply(null,a):NaN;}
function MAX(a){a=VL(a);return a.length?Math.max.apply(null,a):NaN;}
function MEDIAN(a){a=VL(a).sort(function(x,y){return x-y;});var n=a.length;if(!n)return NaN;return n%2?a[(n-1)/2]:(a[n/2-1]+a[n/2])/2;}
function FIRST(a){a=VL(a);return a.length?a[0]:NaN;}
function LAST(a){a=VL(a);return a.length?a[a.length-1]:NaN;}
function COUNT(a){return VL(a).length;}
function ND(x,y){return (x-y)/(x+y);}
function GT(a,b){return(a!==a||b!==b)?NaN:(a>b?1:0);}
function GTE(a,b){return(a!==a||b!==b)?NaN:(a>=b?1:0);}
function LT(a,b){return(a!==a||b!==b)?NaN:(a<b?1:0);}
function LTE(a,b){return(a!==a||b!==b)?NaN:(a<=b?1:0);}
function EQ(a,b,d){if(a!==a||b!==b)return NaN;return(d===null?a===b:Math.abs(a-b)<=d)?1:0;}
function NOT(a){return a!==a?NaN:(a?0:1);}
function AND(a,b){if(a===0||b===0)return 0;if(a!==a||b!==b)return NaN;return 1;}
function OR(a,b){if((a===a&&a!==0)||(b===b&&b!==0))return 1;if(a!==a||b!==b)return NaN;return 0;}
function IF(v,a,r){return(v===v&&v!==0)?a:r;}
function CLIP(x,lo,hi){return x!==x?NaN:Math.min(Math.max(x,lo),hi);}
function LSR(x,a,b,c,d){x=Math.min(Math.max(x,Math.min(a,b)),Math.max(a,b));return((x-a)/(b-a))*(d-c)+c;}
function MK(m,d,r){return(m===m&&m!==0)?r:d;}
""".strip()


def _header(input_bands: list[str], labels: list[str], nb: int, mode: str, comment: str, *, output: dict,
            units: str | None = None) -> list[str]:
    """The lines every generated evalscript starts with: version, setup(), constants, helpers."""
    # dataMask marks no-data samples (NODATA); a load may also read it as a band: listed once
    inp: dict = {"bands": [b for b in input_bands if b != "dataMask"] + ["dataMask"]}
    if units:
        inp["units"] = units
    setup = {"input": [inp], "output": {"id": "default", **output},
             "mosaicking": "SIMPLE" if mode == "simple" else "ORBIT"}
    nodata = "{" + "".join(f"{json.dumps(b)}:NaN," for b in input_bands if b != "dataMask") + "dataMask:0}"
    lines = ["//VERSION=3"]
    if comment:
        lines.append("// " + comment.replace("\n", " "))
    lines += [
        f"function setup(){{return {json.dumps(setup, separators=(',', ':'))};}}",
        f"var NB={nb};var BANDS={json.dumps(labels)};var NODATA={nodata};",
        HELPERS,
    ]
    return lines


def build_evalscript(*, input_bands: list[str], labels: list[str], exprs: list[str], mode: str,
                     units: str | None = None, comment: str = "") -> str:
    """mode: "temporal" (ORBIT, one value set per date, exprs use `s`), "reduced" (ORBIT, exprs
    use the date-sorted sample list `S`) or "simple" (SIMPLE mosaicking, exprs use `s`)."""
    nb = len(exprs)
    lines = _header(input_bands, labels, nb, mode, comment, output={"bands": nb, "sampleType": "FLOAT32"}, units=units)
    body = ",".join(exprs)
    if mode == "temporal":
        # With no acquisition in range the output keeps one (NaN) band: Sentinel Hub cannot encode
        # zero bands; userdata then lists no dates and the executor builds an empty time axis.
        lines.append("function updateOutput(outputs,collection){outputs.default.bands=Math.max(1,ORB(collection.scenes).length*NB);}")
        lines.append("function evaluatePixel(samples,scenes){var S=prep(samples,scenes),out=[];if(!S.length)return {default:[NaN]};"
                     f"for(var i=0;i<S.length;i++){{var s=S[i];out.push({body});}}return {{default:out}};}}")
        lines.append("function updateOutputMetadata(scenes,inputMetadata,outputMetadata){var o=ORB(scenes),d=[];"
                     "for(var i=0;i<o.length;i++)d.push(DT(o[i]));d.sort();"
                     "outputMetadata.userData={dates:d,bands:BANDS};}")
    else:
        if mode == "reduced":
            lines.append(f"function evaluatePixel(samples,scenes){{var S=prep(samples,scenes);return {{default:[{body}]}};}}")
        else:
            lines.append(f"function evaluatePixel(samples,scenes){{var S=prep(samples,scenes);var s=S.length?S[0]:NODATA;return {{default:[{body}]}};}}")
        lines.append("function updateOutputMetadata(scenes,inputMetadata,outputMetadata){outputMetadata.userData={dates:[],bands:BANDS};}")
    return "\n".join(lines) + "\n"


# The 8-bit values are left to Sentinel Hub's UINT8 conversion (round half up, clamp to 0..255,
# NaN -> 0), which equals the executor's encoder (`np.clip(np.rint(float32 value), 0, 255)`,
# non-finite -> 0) except by ±1 where the float32 value is exactly k + 0.5 with k even (numpy
# rounds half to even) and for +Infinity (255 instead of 0; alpha is 0 there in both). Rounding
# in the evalscript instead is exact but made the emulator's render ~10 ms slower per 256 px tile.
IMAGE_HELPERS = r"""
function OK(v){return v>-Infinity&&v<Infinity;}
""".strip()


def _image_pixel(exprs: list[str]) -> str:
    """JS statements returning the UINT8 pixel (bands + alpha) of the values of `exprs` (uses `s`/`S`)."""
    names = [f"v{i}" for i in range(len(exprs))]
    decl = "var " + ",".join(f"{n}=+({e})" for n, e in zip(names, exprs)) + ";"
    alpha = "&&".join(f"OK({n})" for n in names)
    return decl + f"return {{default:[{','.join(names)},({alpha})?255:0]}};"


def build_image_evalscript(*, input_bands: list[str], labels: list[str], exprs: list[str], mode: str,
                           comment: str = "") -> str:
    """A PNG evalscript for the image fast path: output `default` UINT8 with len(exprs) bands plus
    alpha, values as the executor's PNG encoder computes them from `build_evalscript`'s output
    (±1, see IMAGE_HELPERS).

    "temporal" mode renders the single acquisition; when there is not exactly one, the pixels are
    0 and the executor falls back (it checks `userdata.dates`)."""
    nb = len(exprs)
    lines = _header(input_bands, labels, nb, mode, comment, output={"bands": nb + 1, "sampleType": "UINT8"})
    lines.append(IMAGE_HELPERS)
    pixel = _image_pixel(exprs)
    zeros = ",".join(["0"] * (nb + 1))
    if mode == "temporal":
        lines.append("function evaluatePixel(samples,scenes){var S=prep(samples,scenes);"
                     f"if(S.length!==1)return {{default:[{zeros}]}};var s=S[0];{pixel}}}")
        lines.append("function updateOutputMetadata(scenes,inputMetadata,outputMetadata){var o=ORB(scenes),d=[];"
                     "for(var i=0;i<o.length;i++)d.push(DT(o[i]));d.sort();"
                     "outputMetadata.userData={dates:d,bands:BANDS};}")
    else:
        if mode == "reduced":
            lines.append(f"function evaluatePixel(samples,scenes){{var S=prep(samples,scenes);{pixel}}}")
        else:
            lines.append("function evaluatePixel(samples,scenes){var S=prep(samples,scenes);var s=S.length?S[0]:NODATA;"
                         f"{pixel}}}")
        lines.append("function updateOutputMetadata(scenes,inputMetadata,outputMetadata){outputMetadata.userData={dates:[],bands:BANDS};}")
    return "\n".join(lines) + "\n"
