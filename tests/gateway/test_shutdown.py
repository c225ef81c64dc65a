"""`python -m gateway` as a process: JSON access log, SIGTERM drains in-flight requests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.gateway.conftest import PROCESS
from tests.gateway.fakes import free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_sigterm_finishes_in_flight_request(fakes, idp):
    fakes.executor.chunk_delay = 0.5  # /result takes ~1 s
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SH_JWKS_URL": idp.base_url + "/auth/realms/main/protocol/openid-connect/certs",
        "PYTHONPATH": str(ROOT),
        **{f"{name.upper()}_ADDR": server.addr for name, server in fakes.servers.items()},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 15
            while True:
                try:
                    async with session.get(url + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "gateway did not start"
                await asyncio.sleep(0.1)

            headers = {"Authorization": "Bearer basic//" + idp.token(), "X-Request-Id": "drain-test"}

            async def slow_request():
                async with session.post(url + "/result", json={"process": PROCESS}, headers=headers) as resp:
                    return resp.status, await resp.read()

            task = asyncio.create_task(slow_request())
            await asyncio.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            status, body = await task
            assert status == 200
            assert body == b"".join(fakes.executor.result_chunks)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = (await proc.stdout.read()).decode()
    access = [json.loads(line) for line in output.splitlines()
              if line.startswith("{") and '"http_request"' in line]
    drained = [a for a in access if a.get("request_id") == "drain-test"]
    assert drained and drained[0]["status"] == 200 and drained[0]["service"] == "gateway"
    assert drained[0]["duration_ms"] > 500
