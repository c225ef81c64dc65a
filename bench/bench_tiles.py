"""XYZ tile throughput and latency through the gateway on a local stack (real processes).

Starts a stack (1 executor), publishes an XYZ service (Sentinel-2 B04 scaled 0..0.25 -> 0..255
with linear_scale_range, PNG, 256 px) and, with an aiohttp load generator on 127.0.0.1 only:

(a) cached:   `--concurrency` connections hammer the same `--hot` tiles (warm cache) through the
              gateway tile URL; at most `--cached-requests` requests or `--cached-seconds` s;
(b) uncached: distinct never-requested tiles at zoom `--zoom`: `--cold-serial` one at a time
              (per-tile latency) and `--cold-concurrent` with `--concurrency` connections
              (tiles per second);
(c) bare:     the same Process API request the executor sends for such a tile (compiled by the
              compiler service for the tile, built by executor_svc.loading.request), posted
              straight to the emulator one at a time, interleaved with (b)'s serial tiles.

Prints the uncached latency / bare render ratio (target <= 1.2) and the cached rate (target
>= 1000 tiles/s). Services log at --log-level (default info, as deployed).

Usage: .venv/bin/python bench/bench_tiles.py [--concurrency 32] [--cached-requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import grpc
import mercantile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openeo  # noqa: E402

from backend_proto.v1 import common_pb2, compiler_pb2, compiler_pb2_grpc, executor_pb2, executor_pb2_grpc  # noqa: E402
from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig  # noqa: E402
from executor_svc.loading.request import process_request  # noqa: E402
from executor_svc.fast_paths.image import image_request  # noqa: E402
from sentinelhub_emulator import world  # noqa: E402

LON, LAT = 14.01, 46.01
SPLIT_THRESHOLD = 2500  # the executor's default (SH_SPLIT_THRESHOLD)


def first_acquisition(start: date):
    for d in world.acquisition_dates("sentinel-2-l2a", start, start + timedelta(days=60)):
        if world.scene_cloud_cover("sentinel-2-l2a", d) < 30:
            return d
    raise SystemExit("no clear acquisition found")


def service_process(con) -> dict:
    acq = first_acquisition(date(2024, 8, 1))
    day = acq.date()
    cube = con.load_collection(
        "SENTINEL2_L2A", temporal_extent=[day.isoformat(), (day + timedelta(days=1)).isoformat()], bands=["B04"]
    )
    return cube.apply(lambda x: x.linear_scale_range(0, 0.25, 0, 255)).save_result("PNG").flat_graph()


def tiles_around(zoom: int, skip: int, count: int) -> list[mercantile.Tile]:
    """`count` distinct tiles spiralling out from (LON, LAT), after the first `skip`."""
    centre = mercantile.tile(LON, LAT, zoom)
    out, ring = [], 0
    while len(out) < skip + count:
        for dx in range(-ring, ring + 1):
            for dy in range(-ring, ring + 1):
                if max(abs(dx), abs(dy)) == ring:
                    out.append(mercantile.Tile(centre.x + dx, centre.y + dy, zoom))
        ring += 1
    return out[skip : skip + count]


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    async with session.get(url) as resp:
        await resp.read()
        return resp.status, resp.headers.get("X-Cache", ""), time.perf_counter() - t0


async def hammer(urls: list[str], concurrency: int, max_requests: int, max_seconds: float):
    """Round-robin over `urls` with `concurrency` workers: (done, seconds, statuses, latencies)."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    issued = 0
    statuses: dict = {}
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = time.perf_counter()
        deadline = t0 + max_seconds

        async def worker() -> None:
            nonlocal issued
            while issued < max_requests and time.perf_counter() < deadline:
                url = urls[issued % len(urls)]
                issued += 1
                status, cache, dt = await fetch(session, url)
                statuses[(status, cache)] = statuses.get((status, cache), 0) + 1
                latencies.append(dt)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return len(latencies), elapsed, statuses, latencies


def compile_tile(stack: Stack, process: dict, tile: mercantile.Tile, size: int = 256):
    """(plan, Process API body, seconds the Compile call took) of one tile."""
    b = mercantile.xy_bounds(tile)
    with grpc.insecure_channel(stack.addr("compiler")) as channel:
        stub = compiler_pb2_grpc.CompilerServiceStub(channel)
        grpc.channel_ready_future(channel).result(timeout=30)
        t0 = time.perf_counter()
        plan = stub.Compile(
            compiler_pb2.CompileRequest(
                user=common_pb2.User(user_id="basic~bench"),
                process_json=json.dumps(process),
                purpose=compiler_pb2.PURPOSE_TILE,
                tile=compiler_pb2.TileBounds(west=b.left, south=b.bottom, east=b.right, north=b.top, epsg=3857, size=size),
                output_format="PNG",
            ),
            timeout=60,
        )
        seconds = time.perf_counter() - t0
    return plan, executor_request(plan), seconds


def executor_request(plan) -> tuple[dict, str]:
    """(Process API body, Accept) exactly as the executor sends it for this plan: the image fast
    path's request when it applies, else the float request of the load."""
    if plan.strategy == compiler_pb2.RESULT_STRATEGY_IMAGE and max(plan.loads[0].width, plan.loads[0].height) <= SPLIT_THRESHOLD:
        return image_request(plan)
    return process_request(plan.loads[0]), "application/x-tar"


def execute_plan(stack: Stack, plan) -> float:
    """Seconds of one ExecutorService.Execute call (the executor's whole tile: fetch, decode,
    evaluate, encode, stream back)."""
    with grpc.insecure_channel(stack.addr("executor")) as channel:
        stub = executor_pb2_grpc.ExecutorServiceStub(channel)
        grpc.channel_ready_future(channel).result(timeout=30)
        t0 = time.perf_counter()
        data = b"".join(c.data for c in stub.Execute(executor_pb2.ExecuteRequest(user=common_pb2.User(user_id="basic~bench"), plan=plan), timeout=60))
        assert data.startswith(b"\x89PNG"), data[:20]
        return time.perf_counter() - t0


async def bare_render(session: aiohttp.ClientSession, stack: Stack, token: str, request: tuple[dict, str]) -> float:
    body, accept = request
    t0 = time.perf_counter()
    async with session.post(stack.emulator_url + "/api/v1/process", json=body,
                            headers={"Authorization": f"Bearer {token}", "Accept": accept}) as resp:
        await resp.read()
        assert resp.status == 200, resp.status
    return time.perf_counter() - t0


async def measure(stack: Stack, args) -> None:
    con = openeo.connect(stack.gateway_url, auto_validate=False)  # the whole-world graph is only valid per tile
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    process = service_process(con)
    svc = con.create_service(process, type="XYZ", title="bench b04")
    template = svc.describe_service()["url"]

    def url(t: mercantile.Tile) -> str:
        return template.replace("{z}", str(t.z)).replace("{x}", str(t.x)).replace("{y}", str(t.y))

    z = args.zoom
    hot = tiles_around(z, 0, args.hot)
    serial_gw = tiles_around(z, args.hot, args.cold_serial)
    serial_bare = tiles_around(z, args.hot + args.cold_serial, args.cold_serial)
    concurrent = tiles_around(z, args.hot + 2 * args.cold_serial, args.cold_concurrent)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        async with session.post(
            stack.emulator_url + "/auth/realms/main/protocol/openid-connect/token",
            data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        ) as resp:
            token = (await resp.json())["access_token"]
        # warm the hot tiles (first renders also warm every process and connection)
        for t in hot:
            status, _, dt = await fetch(session, url(t))
            assert status == 200, status
        compiled = [await asyncio.to_thread(compile_tile, stack, process, t) for t in serial_bare]
        await bare_render(session, stack, token, compiled[0][1])  # warm-up of the direct path
        compiled = compiled[1:] + [await asyncio.to_thread(compile_tile, stack, process, tiles_around(z, 10_000, 1)[0])]
        compile_lat = [c[2] for c in compiled]
        exec_tiles = tiles_around(z, 20_000, len(serial_gw))
        exec_plans = [(await asyncio.to_thread(compile_tile, stack, process, t))[0] for t in exec_tiles]
        await asyncio.to_thread(execute_plan, stack, exec_plans[0])  # warm-up
        exec_plans = exec_plans[1:] + [(await asyncio.to_thread(compile_tile, stack, process, tiles_around(z, 30_000, 1)[0]))[0]]

        # (b) serial + (c) bare (+ the executor alone), interleaved
        gw_lat, bare_lat, exec_lat = [], [], []
        for t, (_plan, body, _s), exec_plan in zip(serial_gw, compiled, exec_plans):
            status, cache, dt = await fetch(session, url(t))
            assert status == 200 and cache == "MISS", (status, cache)
            gw_lat.append(dt)
            bare_lat.append(await bare_render(session, stack, token, body))
            exec_lat.append(await asyncio.to_thread(execute_plan, stack, exec_plan))

    # (a) cached
    print(f"load average before cached run: {os.getloadavg()}")
    spies = []
    if args.py_spy:
        import subprocess

        for name in ("gateway", "tiles"):
            out = f"{args.py_spy}-{name}.txt"
            spies.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(stack.children[name].proc.pid),
                 "--rate", "100", "--format", "raw", "--output", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        await asyncio.sleep(1.0)
    pids = {name: stack.children[name].proc.pid for name in ("gateway", "tiles")}
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    own0 = time.process_time()
    n, secs, statuses, lat = await hammer([url(t) for t in hot], args.concurrency, args.cached_requests, args.cached_seconds)
    cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
    cpu["load generator"] = time.process_time() - own0
    for spy in spies:
        import signal

        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    print(f"(a) cached: {n} requests over {len(hot)} hot tiles, {args.concurrency} connections, {secs:.2f} s: "
          f"{n / secs:.0f} tiles/s; latency p50 {pct(lat, 50) * 1000:.1f} ms p99 {pct(lat, 99) * 1000:.1f} ms; "
          f"statuses {statuses}")
    print("    CPU per cached tile: " + ", ".join(f"{k} {v / n * 1e6:.0f} µs ({v / secs:.0%} of a core)" for k, v in cpu.items()))
    cached_rate = n / secs

    # (b) concurrent cold
    print(f"load average before uncached run: {os.getloadavg()}")
    n2, secs2, statuses2, lat2 = await hammer([url(t) for t in concurrent], args.concurrency, len(concurrent), args.cold_seconds)
    print(f"(b) uncached, {args.concurrency} connections: {n2} distinct tiles in {secs2:.2f} s = {n2 / secs2:.1f} tiles/s; "
          f"latency p50 {pct(lat2, 50) * 1000:.0f} ms p90 {pct(lat2, 90) * 1000:.0f} ms; statuses {statuses2}")
    print(f"(b) uncached, one at a time: {len(gw_lat)} tiles: mean {statistics.mean(gw_lat) * 1000:.0f} ms, "
          f"median {statistics.median(gw_lat) * 1000:.0f} ms, p90 {pct(gw_lat, 90) * 1000:.0f} ms")
    print(f"(c) bare emulator render, same request ({'image fast path' if compiled[0][0].strategy == compiler_pb2.RESULT_STRATEGY_IMAGE else 'float'}), one at a time: {len(bare_lat)} tiles: mean "
          f"{statistics.mean(bare_lat) * 1000:.0f} ms, median {statistics.median(bare_lat) * 1000:.0f} ms")
    print(f"    breakdown (medians, distinct tiles): Compile call {statistics.median(compile_lat) * 1000:.0f} ms, "
          f"executor Execute call {statistics.median(exec_lat) * 1000:.0f} ms (bare render inside it "
          f"{statistics.median(bare_lat) * 1000:.0f} ms)")
    ratio = statistics.median(gw_lat) / statistics.median(bare_lat)
    print(f"uncached / bare (medians): {ratio:.2f} (target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'}); "
          f"mean ratio {statistics.mean(gw_lat) / statistics.mean(bare_lat):.2f}; "
          f"cached target >= 1000 tiles/s: {'met' if cached_rate >= 1000 else 'MISSED'}")
    svc.delete_service()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--hot", type=int, default=4, help="number of hot (cached) tiles")
    ap.add_argument("--cached-requests", type=int, default=20000)
    ap.add_argument("--cached-seconds", type=float, default=20.0)
    ap.add_argument("--zoom", type=int, default=14)
    ap.add_argument("--cold-serial", type=int, default=12)
    ap.add_argument("--cold-concurrent", type=int, default=64)
    ap.add_argument("--cold-seconds", type=float, default=120.0)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--py-spy", metavar="PREFIX", help="record gateway and tiles_svc with .venv/bin/py-spy during "
                    "the cached run (PREFIX-gateway.txt, PREFIX-tiles.txt, collapsed stacks)")
    ap.add_argument("--env", action="append", default=[], help="extra service env KEY=VALUE (repeatable)")
    args = ap.parse_args()
    extra_env = dict(kv.split("=", 1) for kv in args.env)
    print(f"load average at start: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-tiles-") as tmp:
        config = StackConfig.free_ports(Path(tmp), executors=1, log_level=args.log_level, extra_env=extra_env)
        with Stack(config) as stack:
            asyncio.run(measure(stack, args))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
