"""`POST /result` latency through the whole backend vs. the bare Sentinel Hub (emulator) call.

Starts a local stack on free ports (`devstack`), then for a 512 x 512 px single-date NDVI
(SENTINEL2_L2A B04 + B08, GTiff) times, in the same run and with one HTTP session each:

* backend: `POST <gateway>/result` with the process graph (basic login as the demo client);
* bare:    `POST <emulator>/api/v1/process` with the very Process API request the executor sends
           (the graph compiled by `compiler_svc.compilation.compile_process`, then
           `executor_svc.loading.process_request` of its load) and an emulator token.

N warm-up calls then N measured calls each (interleaved), prints median / p90, the ratio (of the
medians, and the median of each backend call's ratio to the bare call right after it) and
where the backend's time goes (per-stage medians read from the services' logs, by request id).
Target: backend median <= 1.15 x bare median.

    .venv/bin/python bench/bench_result_latency.py [-n 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_proto.v1 import compiler_pb2  # noqa: E402
from compiler_svc import compilation  # noqa: E402
from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig  # noqa: E402
from executor_svc.loading.request import process_request  # noqa: E402

SIZE = 512
# 512 x 512 px at 10 m in UTM 33N, on one Sentinel-2 acquisition date of the emulator (2024-06-05)
GRAPH = {
    "load": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "bands": ["B04", "B08"],
        "spatial_extent": {"west": 500000, "south": 5000000, "east": 500000 + 10 * SIZE, "north": 5000000 + 10 * SIZE,
                           "crs": 32633},
        "temporal_extent": ["2024-06-05", "2024-06-06"]}},
    "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}, "nir": "B08", "red": "B04"}},
    "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"}, "result": True},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _no_udps(_udp_id):
    return None


def bare_request() -> dict:
    plan = asyncio.run(compilation.compile_process(json.dumps({"process_graph": GRAPH}), _no_udps,
                                            purpose=compiler_pb2.PURPOSE_SYNC))
    (load,) = plan.loads
    assert (load.width, load.height) == (SIZE, SIZE), (load.width, load.height)
    return process_request(load)


def stage_breakdown(logs_dir: Path, request_ids: list[str]) -> dict[str, float]:
    """Median per-stage times of the measured backend calls, from the services' JSON logs: the
    gateway's whole request, the compiler's work, the Sentinel Hub call, decoding into a cube,
    evaluation, encoding, and the rest (HTTP/gRPC hops, streaming, queueing). Empty at log levels
    above info."""
    wanted = set(request_ids)
    per_request: dict[str, dict[str, float]] = {rid: {} for rid in wanted}
    # (log event, field) -> stage; the events are unique to one service each
    fields = {("http_request", "duration_ms"): "gateway", ("compiled", "duration_ms"): "compile",
              ("sh_call", "duration_ms"): "sentinel hub", ("execute_result", "fetch_ms"): "fetch",
              ("execute_result", "evaluate_ms"): "evaluate", ("execute_result", "finish_ms"): "encode"}
    for path in logs_dir.glob("*.log"):
        with open(path, errors="replace") as handle:
            for line in handle:
                if '"request_id"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                rid = entry.get("request_id")
                if rid not in wanted:
                    continue
                for (event, field), name in fields.items():
                    if entry.get("event") == event and field in entry:
                        per_request[rid][name] = float(entry[field])
    rows = [r for r in per_request.values() if len(r) == len(fields)]
    if not rows:
        return {}
    for r in rows:
        r["decode + cube"] = r.pop("fetch") - r["sentinel hub"]
        r["hops, gateway, streaming"] = r["gateway"] - r["compile"] - r["sentinel hub"] - r["decode + cube"] - r["evaluate"] - r["encode"]
    order = ["gateway", "compile", "sentinel hub", "decode + cube", "evaluate", "encode", "hops, gateway, streaming"]
    return {name: statistics.median(r[name] for r in rows) for name in order}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20, help="warm-up calls and measured calls, each (default 20)")
    parser.add_argument("--executors", type=int, default=1)
    parser.add_argument("--log-level", default="info", help="services' log level (default info, as deployed; "
                        "the per-stage breakdown needs info)")
    args = parser.parse_args()

    body = bare_request()
    with tempfile.TemporaryDirectory(prefix="bench-result-") as run_dir:
        stack = Stack(StackConfig.free_ports(Path(run_dir), executors=args.executors, log_level=args.log_level)).start()
        try:
            gw = requests.Session()
            r = gw.get(stack.gateway_url + "/credentials/basic", auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=30)
            r.raise_for_status()
            gw.headers["Authorization"] = "Bearer basic//" + r.json()["access_token"]
            sh = requests.Session()
            r = sh.post(stack.emulator_url + "/auth/realms/main/protocol/openid-connect/token", timeout=30,
                        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
                              "client_secret": DEMO_CLIENT_SECRET})
            r.raise_for_status()
            sh.headers["Authorization"] = "Bearer " + r.json()["access_token"]
            payload = json.dumps({"process": {"process_graph": GRAPH}})

            measured_ids: list[str] = []

            def backend() -> int:
                request_id = uuid.uuid4().hex
                measured_ids.append(request_id)
                resp = gw.post(stack.gateway_url + "/result", data=payload, timeout=120,
                               headers={"Content-Type": "application/json", "X-Request-Id": request_id})
                if resp.status_code != 200:
                    raise RuntimeError(f"/result {resp.status_code}: {resp.text[:500]}")
                return len(resp.content)

            def bare() -> int:
                resp = sh.post(stack.emulator_url + "/api/v1/process", json=body, timeout=120)
                if resp.status_code != 200:
                    raise RuntimeError(f"process {resp.status_code}: {resp.text[:500]}")
                return len(resp.content)

            times: dict[str, list[float]] = {"backend": [], "bare": []}
            sizes: dict[str, int] = {}
            for phase in ("warm-up", "measure"):
                for _ in range(args.n):
                    for name, call in (("backend", backend), ("bare", bare)):
                        t0 = time.perf_counter()
                        sizes[name] = call()
                        dt = time.perf_counter() - t0
                        if phase == "measure":
                            times[name].append(dt)
        finally:
            stack.stop()
        stages = stage_breakdown(stack.logs_dir, measured_ids[-args.n:])

    print(f"512x512 single-date NDVI (S2 L2A B04+B08 -> GTiff), {args.n} warm-up + {args.n} measured calls each")
    for name in ("backend", "bare"):
        ms = [t * 1000 for t in times[name]]
        print(f"  {name:8s} median {statistics.median(ms):8.1f} ms   p90 {percentile(ms, 0.9):8.1f} ms   "
              f"min {min(ms):8.1f} ms   response {sizes[name]} bytes")
    if stages:
        print("  backend stages (medians from the services' logs): " + ", ".join(f"{k} {v:.1f} ms" for k, v in stages.items()))
    ratio = statistics.median(times["backend"]) / statistics.median(times["bare"])
    ratio90 = percentile(times["backend"], 0.9) / percentile(times["bare"], 0.9)
    # each backend call with the bare call right after it: the host's speed drifts less within a pair
    paired = statistics.median(b / s for b, s in zip(times["backend"], times["bare"]))
    print(f"  ratio backend/bare: median {ratio:.3f}   p90 {ratio90:.3f}   median of pairs {paired:.3f}   "
          f"(target <= 1.15)")


if __name__ == "__main__":
    main()
