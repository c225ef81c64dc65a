"""`python -m sentinelhub_emulator` as the local stack starts it, configured from the environment."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_module_entry_point_with_env_config(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), SH_EMULATOR_CLIENTS="svc:pw", SH_EMULATOR_TOKEN_TTL="120",
               SH_EMULATOR_KEY_FILE=str(key_file), SH_EMULATOR_PUBLIC_URL="http://sh.example:9000")
    proc = subprocess.Popen([sys.executable, "-m", "sentinelhub_emulator", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as s:
            async with s.post("/auth/realms/main/protocol/openid-connect/token",
                              data={"grant_type": "client_credentials", "client_id": "svc", "client_secret": "pw"}) as r:
                assert r.status == 200
                tok = await r.json()
            assert tok["expires_in"] == 120
            claims = jwt.decode(tok["access_token"], key.public_key(), algorithms=["RS256"])  # signed with the file key
            assert claims["iss"] == "http://sh.example:9000/auth/realms/main"
            async with s.get("/_emulator/stats") as r:
                assert (await r.json())["requests"]["token"] == 1
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
    assert any('"event": "starting"' in ln for ln in lines)  # structlog JSON
