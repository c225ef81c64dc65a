"""Overhead of the Sentinel Hub client per request on loopback.

Time of `SentinelHubClient.process(...)` minus time of a bare aiohttp POST of the same 1×1 px
Process API request to the same server with the same token, averaged over N interleaved calls.
Target: < 5 ms.

    .venv/bin/python bench/bench_sh_client.py [-n 500] [--base-url http://127.0.0.1:8090]

Without --base-url the Sentinel Hub emulator runs in-process (`sentinelhub_emulator.create_app`);
if the emulator package is not available, a minimal stub server stands in.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "demo-client", "demo-secret"
REQUEST = {
    "input": {
        "bounds": {"bbox": [13.0, 45.0, 13.001, 45.001]},
        "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2023-06-01T00:00:00Z", "to": "2023-06-30T23:59:59Z"}}}],
    },
    "output": {"width": 1, "height": 1, "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
    "evalscript": "//VERSION=3\nfunction setup(){return {input:[\"B04\"],output:{bands:1,sampleType:\"FLOAT32\"}};}\n"
    "function evaluatePixel(s){return [s.B04];}",
}


def quiet_json_logging() -> None:
    """JSON logs rendered as in production, but written to /dev/null (rendering cost is included)."""
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives for the process
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sink),
        cache_logger_on_first_use=True,
    )


def stub_app() -> web.Application:
    import io

    import numpy as np
    import rasterio

    from rasterio.transform import from_origin

    buf = io.BytesIO()
    with rasterio.MemoryFile() as mem:
        with mem.open(driver="GTiff", width=1, height=1, count=1, dtype="float32", crs="EPSG:4326",
                      transform=from_origin(13.0, 45.001, 0.001, 0.001)) as ds:
            ds.write(np.zeros((1, 1, 1), dtype=np.float32))
        buf.write(mem.read())
    tiff = buf.getvalue()

    async def token(request):
        return web.json_response({"access_token": "stub", "expires_in": 3600, "token_type": "Bearer"})

    async def process(request):
        await request.read()
        return web.Response(body=tiff, content_type="image/tiff", headers={"x-processingunits-spent": "0.005"})

    app = web.Application()
    app.router.add_post("/auth/realms/main/protocol/openid-connect/token", token)
    app.router.add_post("/api/v1/process", process)
    return app


async def start_server() -> tuple[web.AppRunner, str, str]:
    try:
        from sentinelhub_emulator import create_app  # type: ignore

        try:
            from sentinelhub_emulator.config import EmulatorConfig  # type: ignore

            app = create_app(EmulatorConfig())
        except ImportError:
            app = create_app(None)
        kind = "emulator (in-process)"
    except ImportError:
        app, kind = stub_app(), "stub server (emulator not available)"
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    return runner, f"http://127.0.0.1:{port}", kind


async def main(n: int, base_url: str | None) -> None:
    quiet_json_logging()
    runner = None
    kind = "external server"
    if base_url is None:
        runner, base_url, kind = await start_server()
    deployment = Deployment.emulator(base_url)
    config = ClientConfig(deployment=deployment, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with SentinelHubClient(config) as sh, aiohttp.ClientSession() as bare:
        token = await sh.tokens.get(deployment.token_url, CLIENT_ID, CLIENT_SECRET)
        headers = {"Authorization": f"Bearer {token}", "Accept": "image/tiff"}

        async def bare_call() -> float:
            t0 = time.perf_counter()
            async with bare.post(deployment.process_url, json=REQUEST, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            return time.perf_counter() - t0

        async def client_call() -> float:
            t0 = time.perf_counter()
            await sh.process(REQUEST)
            return time.perf_counter() - t0

        for _ in range(20):  # warm-up: connections, token, caches
            await bare_call()
            await client_call()
        bare_times, client_times = [], []
        for i in range(n):  # interleaved so drift affects both equally
            if i % 2:
                bare_times.append(await bare_call())
                client_times.append(await client_call())
            else:
                client_times.append(await client_call())
                bare_times.append(await bare_call())
    if runner is not None:
        await runner.cleanup()

    def ms(values):
        return statistics.fmean(values) * 1000, statistics.median(values) * 1000

    bare_mean, bare_median = ms(bare_times)
    client_mean, client_median = ms(client_times)
    print(f"server: {kind} at {base_url}; {n} calls each, 1x1 px process request")
    print(f"bare aiohttp : mean {bare_mean:7.3f} ms  median {bare_median:7.3f} ms")
    print(f"client       : mean {client_mean:7.3f} ms  median {client_median:7.3f} ms")
    overhead = client_mean - bare_mean
    print(f"overhead     : mean {overhead:7.3f} ms  median {client_median - bare_median:7.3f} ms  "
          f"(target < 5 ms: {'OK' if overhead < 5 else 'MISSED'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--base-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.base_url))
