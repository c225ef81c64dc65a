"""End-to-end batch job throughput and executor memory on a local stack (real processes).

Starts a stack (1 executor), runs an NDVI batch job (Sentinel-2 L2A B04/B08, one acquisition,
GTiff) over a `--size` x `--size` px area at 10 m in UTM 33N and prints:

- end-to-end throughput: megapixels per second from `start` (POST /jobs/{id}/results) until the
  job is seen `finished` (polled every 0.2 s), plus the executor's own `usage.duration`;
- the number and size of the result files;
- the peak RSS of the executor process and its children (sampled every 0.1 s from
  /proc/<pid>/status VmRSS, plus the kernel's VmHWM of the executor at the end);
- the emulator's bare render rate for the same evalscript (the compiled plan's evalscript, the
  request body the executor builds): `--bare-calls` Process API calls of
  `--bare-size` px straight to the emulator, one at a time and `--bare-parallel` at a time.

Usage: .venv/bin/python bench/bench_batch.py [--size 10000] [--bare-calls 4] [--bare-size 2500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import grpc
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openeo  # noqa: E402

from backend_proto.v1 import common_pb2, compiler_pb2, compiler_pb2_grpc  # noqa: E402
from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig  # noqa: E402
from executor_svc.loading.request import process_request  # noqa: E402
from sentinelhub_emulator import world  # noqa: E402

EPSG = 32633
WEST, NORTH = 400000.0, 5200000.0  # UTM 33N, around 14°E 47°N
RES = 10.0


def first_acquisition(start: date):
    from datetime import timedelta

    for d in world.acquisition_dates("sentinel-2-l2a", start, start + timedelta(days=60)):
        if world.scene_cloud_cover("sentinel-2-l2a", d) < 30:
            return d
    raise SystemExit("no clear acquisition found")


def day_interval(d) -> list[str]:
    from datetime import timedelta

    day = d.date()
    return [day.isoformat(), (day + timedelta(days=1)).isoformat()]


class RssSampler(threading.Thread):
    """Samples VmRSS of a process and all its descendants; remembers the peak of the sum."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.peak_children = 0
        self.samples = 0
        self._halt = threading.Event()

    @staticmethod
    def _status(pid: int) -> dict[str, str]:
        out = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    out[key] = value.strip()
        except OSError:
            pass
        return out

    def _descendants(self) -> list[int]:
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            pid = frontier.pop()
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        kids = [int(k) for k in f.read().split()]
                    pids += kids
                    frontier += kids
            except OSError:
                pass
        return pids

    @staticmethod
    def kb(value: str) -> int:
        return int(value.split()[0]) if value else 0

    def hwm_kb(self) -> int:
        return self.kb(self._status(self.pid).get("VmHWM", ""))

    def run(self) -> None:
        while not self._halt.is_set():
            pids = self._descendants()
            total = sum(self.kb(self._status(p).get("VmRSS", "")) for p in pids)
            self.peak_kb = max(self.peak_kb, total)
            self.peak_children = max(self.peak_children, len(pids) - 1)
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far (its own threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compile_plan(stack: Stack, process: dict):
    with grpc.insecure_channel(stack.addr("compiler")) as channel:
        stub = compiler_pb2_grpc.CompilerServiceStub(channel)
        return stub.Compile(
            compiler_pb2.CompileRequest(
                user=common_pb2.User(user_id="basic~bench"),
                process_json=json.dumps(process),
                purpose=compiler_pb2.PURPOSE_BATCH,
            ),
            timeout=60,
        )


def bare_rate(stack: Stack, load, size: int, calls: int, parallel: int) -> tuple[float, float, float]:
    """(Mpx/s one at a time, Mpx/s `parallel` at a time, mean seconds per call): the executor's
    request body for a `size` px square of the load's grid, posted straight to the emulator."""
    token = requests.post(
        stack.emulator_url + "/auth/realms/main/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        timeout=30,
    ).json()["access_token"]
    base = process_request(load)
    res_x = (load.bbox.east - load.bbox.west) / load.width
    res_y = (load.bbox.north - load.bbox.south) / load.height

    def body(i: int) -> dict:
        # different squares along the top row (wrapping), so nothing is served twice
        cols = max(1, load.width // size)
        x0, y0 = (i % cols) * size, (i // cols) * size
        b = json.loads(json.dumps(base))
        w = load.bbox.west + x0 * res_x
        n = load.bbox.north - y0 * res_y
        b["input"]["bounds"]["bbox"] = [w, n - size * res_y, w + size * res_x, n]
        b["output"]["width"] = b["output"]["height"] = size
        return b

    def post(i: int) -> float:
        t0 = time.perf_counter()
        r = requests.post(stack.emulator_url + "/api/v1/process", json=body(i),
                          headers={"Authorization": f"Bearer {token}", "Accept": "application/x-tar"}, timeout=600)
        r.raise_for_status()
        assert len(r.content) > size * size * 4, len(r.content)
        return time.perf_counter() - t0

    mpx = size * size / 1e6
    post(0)  # warm-up (V8 isolate, token, world caches)
    t0 = time.perf_counter()
    times = [post(i + 1) for i in range(calls)]
    serial = calls * mpx / (time.perf_counter() - t0)
    with ThreadPoolExecutor(parallel) as pool:
        t0 = time.perf_counter()
        list(pool.map(post, range(calls + 1, 2 * calls + 1)))
        par = calls * mpx / (time.perf_counter() - t0)
    return serial, par, sum(times) / len(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10000, help="output width = height in px (10 m)")
    ap.add_argument("--bare-calls", type=int, default=4)
    ap.add_argument("--bare-size", type=int, default=2500)
    ap.add_argument("--bare-parallel", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=1800, help="give up waiting for the job after this many s")
    ap.add_argument("--py-spy", metavar="OUT", help="record the executor with .venv/bin/py-spy during the job "
                    "(OUT.svg flame graph, or OUT.txt in raw/collapsed format)")
    ap.add_argument("--env", action="append", default=[], help="extra service env KEY=VALUE (repeatable)")
    args = ap.parse_args()

    # the executor's own Process API path (larger jobs go to the Batch API otherwise: bench_batch_api.py)
    extra_env = {"COMPILER_BATCH_API_MIN_PIXELS": "0", **dict(kv.split("=", 1) for kv in args.env)}
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        stack = Stack(StackConfig.free_ports(Path(tmp), executors=1, log_level="warning", extra_env=extra_env))
        stack.start()
        try:
            run(stack, args)
        finally:
            stack.stop()
    print(f"load average after:  {os.getloadavg()}")


def run(stack: Stack, args) -> None:
    size = args.size
    acq = first_acquisition(date(2024, 7, 1))
    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    extent = {"west": WEST, "east": WEST + size * RES, "north": NORTH, "south": NORTH - size * RES, "crs": EPSG}
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=extent, temporal_extent=day_interval(acq), bands=["B04", "B08"])
    cube = cube.ndvi(nir="B08", red="B04").save_result("GTiff")
    process = cube.flat_graph()

    plan = compile_plan(stack, process)
    load = plan.loads[0]
    print(f"plan: {len(plan.loads)} load(s), grid {load.width}x{load.height} px EPSG:{load.bbox.epsg}, "
          f"estimated PU {plan.estimated_processing_units:.0f}")
    if (load.width, load.height) != (size, size):
        print(f"WARNING: the compiled grid is {load.width}x{load.height}, not {size}x{size}")
    mpx = load.width * load.height / 1e6

    executor_pid = stack.children["executor"].proc.pid
    sampler = RssSampler(executor_pid)
    base_rss = RssSampler._status(executor_pid).get("VmRSS")
    job = con.create_job(process, title=f"bench ndvi {size}")
    watched = {name: stack.children[name].proc.pid for name in ("executor", "emulator") if name in stack.children}
    cpu0 = {name: cpu_seconds(pid) for name, pid in watched.items()}
    spy = None
    if args.py_spy:
        import subprocess

        fmt = "raw" if args.py_spy.endswith(".txt") else "flamegraph"
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(executor_pid),
                                "--rate", "50", "--threads", "--format", fmt, "--output", args.py_spy],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler.start()
    t0 = time.perf_counter()
    job.start()
    status = job.status()
    deadline = t0 + args.timeout
    while status not in ("finished", "error", "canceled") and time.perf_counter() < deadline:
        time.sleep(0.2)
        status = job.status()
    elapsed = time.perf_counter() - t0
    sampler.stop()
    hwm = sampler.hwm_kb()
    cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in watched.items()}
    if spy is not None:
        import signal

        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    print(f"job {job.job_id}: {status} after {elapsed:.1f} s")
    if status != "finished":
        for entry in job.logs()[-10:]:
            print("  log:", entry.get("level"), entry.get("message"))
        raise SystemExit(1)
    info = job.describe()
    usage = (info.get("usage") or {}).get("duration", {}).get("value")
    assets = job.get_results().get_metadata()["assets"]
    data = {k: a for k, a in assets.items() if "data" in a.get("roles", ["data"])}
    sizes = [int(a.get("file:size") or a.get("size") or 0) for a in data.values()]
    print(f"end to end: {mpx:.1f} Mpx in {elapsed:.1f} s = {mpx / elapsed:.2f} Mpx/s"
          + (f" (executor usage.duration {usage:.1f} s = {mpx / usage:.2f} Mpx/s)" if usage else ""))
    print("CPU seconds during the job: " + ", ".join(f"{n} {c:.1f} s ({c / elapsed:.0%} of one core)" for n, c in cpu.items())
          + f"; load average now {os.getloadavg()}")
    print(f"result files: {len(data)} data file(s), {sum(sizes) / 1e6:.1f} MB total"
          + (f" (largest {max(sizes) / 1e6:.1f} MB)" if sizes else "") + f" + {len(assets) - len(data)} metadata")
    print(f"executor RSS: idle {base_rss}, peak (executor + children, {sampler.samples} samples) "
          f"{sampler.peak_kb / 1024:.0f} MiB, executor VmHWM {hwm / 1024:.0f} MiB, children seen {sampler.peak_children}")

    serial, par, mean = bare_rate(stack, load, args.bare_size, args.bare_calls, args.bare_parallel)
    print(f"bare emulator, same evalscript, {args.bare_size}x{args.bare_size} px: {mean:.2f} s/call, "
          f"{serial:.2f} Mpx/s one at a time, {par:.2f} Mpx/s {args.bare_parallel} at a time")
    best = max(serial, par)
    print(f"ratio bare (best) / end to end: {best / (mpx / elapsed):.2f}x (target <= 2x); "
          f"peak RSS target <= 1536 MiB: {'met' if max(sampler.peak_kb, hwm) <= 1536 * 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
