"""A large NDVI batch job through Sentinel Hub's Batch Processing API v2 on the emulator.

Starts a stack (1 executor), runs an NDVI batch job (Sentinel-2 L2A B04/B08, one acquisition, GTiff)
over `--size` x `--size` px at 10 m in UTM 33N (the compiler sends it to the Batch API: UTM 10 km
grid, 1000 x 1000 px tiles), and prints side by side:

- the job's wall time (POST /jobs/{id}/results until `finished`) and the emulator's own batch
  render time for the same task (the same create body posted straight to `/api/v2/batch/process`,
  no executor), as tile megapixels per second, and their ratio (target >= 0.9);
- the executor's peak RSS (executor + children, sampled every 0.1 s; target <= 500 MiB, the same
  whatever the area: run two `--size`s to see it).

Usage: .venv/bin/python bench/bench_batch_api.py [--size 40000] [--size 8000 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import openeo  # noqa: E402

from bench_batch import EPSG, NORTH, RES, WEST, RssSampler, compile_plan, cpu_seconds, day_interval, \
    first_acquisition  # noqa: E402
from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig  # noqa: E402
from executor_svc.batch_engine.request import DeliveryTarget, task_body  # noqa: E402


def token(stack: Stack) -> str:
    return requests.post(stack.emulator_url + "/auth/realms/main/protocol/openid-connect/token",
                         data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
                               "client_secret": DEMO_CLIENT_SECRET}, timeout=30).json()["access_token"]


def bare_batch(stack: Stack, plan, timeout: float) -> tuple[float, int]:
    """(seconds, tiles) of the emulator rendering the job's Batch task on its own."""
    target = DeliveryTarget(stack.s3.bucket, stack.s3.access_key, stack.s3.secret_key)
    body = task_body(plan, f"bench-bare-{time.time_ns()}", target)
    headers = {"Authorization": f"Bearer {token(stack)}"}
    base = stack.emulator_url + "/api/v2/batch/process"
    task = requests.post(base, json=body, headers=headers, timeout=60).json()
    t0 = time.perf_counter()
    requests.post(f"{base}/{task['id']}/start", headers=headers, timeout=60).raise_for_status()
    while time.perf_counter() - t0 < timeout:
        state = requests.get(f"{base}/{task['id']}", headers=headers, timeout=60).json()
        if state["status"] in ("DONE", "FAILED", "STOPPED"):
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    stats = requests.get(stack.emulator_url + "/_emulator/stats", timeout=10).json()
    return elapsed, int(stats["batch"].get("tiles_done", 0))


def run_size(stack: Stack, size: int, timeout: float) -> dict:
    acq = first_acquisition(date(2024, 7, 1))
    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    extent = {"west": WEST, "east": WEST + size * RES, "north": NORTH, "south": NORTH - size * RES, "crs": EPSG}
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=extent, temporal_extent=day_interval(acq),
                               bands=["B04", "B08"]).ndvi(nir="B08", red="B04").save_result("GTiff")
    process = cube.flat_graph()
    t0 = time.perf_counter()
    plan = compile_plan(stack, process)
    compile_s = time.perf_counter() - t0
    if not plan.HasField("batch_api"):
        raise SystemExit("the compiler did not plan the Batch API (threshold COMPILER_BATCH_API_MIN_PIXELS?)")
    engine = plan.batch_api
    print(f"[{size}] plan in {compile_s:.2f} s: grid {engine.grid_id} at {engine.resolution:g} m, "
          f"~{engine.estimated_tiles} tiles, estimate {plan.estimated_processing_units:.0f} PU")

    requests.delete(stack.emulator_url + "/_emulator/stats", timeout=10)
    executor_pid = stack.children["executor"].proc.pid
    sampler = RssSampler(executor_pid)
    cpu0 = cpu_seconds(executor_pid), cpu_seconds(stack.children["emulator"].proc.pid)
    job = con.create_job(process, title=f"bench batch api {size}")
    sampler.start()
    t0 = time.perf_counter()
    job.start()
    status = job.status()
    while status not in ("finished", "error", "canceled") and time.perf_counter() - t0 < timeout:
        time.sleep(0.5)
        status = job.status()
    job_s = time.perf_counter() - t0
    sampler.stop()
    cpu = cpu_seconds(executor_pid) - cpu0[0], cpu_seconds(stack.children["emulator"].proc.pid) - cpu0[1]
    if status != "finished":
        for entry in job.logs()[-10:]:
            print("  log:", entry.get("level"), entry.get("message"))
        raise SystemExit(f"job {status} after {job_s:.0f} s")
    stats = requests.get(stack.emulator_url + "/_emulator/stats", timeout=10).json()
    tiles = int(stats["batch"].get("tiles_done", 0))
    tile_px = (10000.0 / engine.resolution) ** 2 if engine.grid_id == 1 else None
    requests.delete(stack.emulator_url + "/_emulator/stats", timeout=10)
    bare_s, bare_tiles = bare_batch(stack, plan, timeout)
    mpx = tiles * (tile_px or 0) / 1e6
    out = {"size": size, "tiles": tiles, "job_s": job_s, "bare_s": bare_s, "bare_tiles": bare_tiles,
           "job_mpx_s": mpx / job_s, "bare_mpx_s": mpx / bare_s, "ratio": bare_s / job_s,
           "peak_rss_mib": max(sampler.peak_kb, sampler.hwm_kb()) / 1024, "executor_cpu_s": cpu[0],
           "emulator_cpu_s": cpu[1]}
    print(f"[{size}] job {job_s:.1f} s for {tiles} tiles ({out['job_mpx_s']:.2f} Mpx/s); emulator alone "
          f"{bare_s:.1f} s for {bare_tiles} tiles ({out['bare_mpx_s']:.2f} Mpx/s); ratio {out['ratio']:.2f} "
          f"(target >= 0.9); executor peak RSS {out['peak_rss_mib']:.0f} MiB (target <= 500); CPU executor "
          f"{cpu[0]:.0f} s, emulator {cpu[1]:.0f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, action="append", help="width = height in px at 10 m (repeatable; "
                    "default 40000)")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--env", action="append", default=[], help="extra service env KEY=VALUE (repeatable)")
    args = ap.parse_args()
    sizes = args.size or [40000]
    extra_env = {"SH_EMULATOR_BATCH_EXECUTION_DB_INTERVAL_S": "1", **dict(kv.split("=", 1) for kv in args.env)}
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-api-") as tmp:
        stack = Stack(StackConfig.free_ports(Path(tmp), executors=1, log_level="warning", extra_env=extra_env))
        stack.start()
        try:
            rows = [run_size(stack, size, args.timeout) for size in sizes]
        finally:
            stack.stop()
    print(f"load average after:  {os.getloadavg()}")
    print("size px | tiles | job s | emulator alone s | ratio | executor peak RSS MiB")
    for r in rows:
        print(f"{r['size']} | {r['tiles']} | {r['job_s']:.1f} | {r['bare_s']:.1f} | {r['ratio']:.2f} | "
              f"{r['peak_rss_mib']:.0f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
