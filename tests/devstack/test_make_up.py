"""`make up` (python -m devstack): a crashed service is restarted and the restart printed; Ctrl-C
stops every process, the restarted one included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devstack.health import grpc_serving
from devstack.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PORT_VARIABLES = (
    "GATEWAY_PORT", "SH_EMULATOR_PORT", "OIDC_TEST_PROVIDER_PORT", "COMPILER_PORT", "EXECUTOR_PORT",
    "TILES_PORT", "STORE_PORT", "MONGO_PORT", "S3_PORT",
)

pytestmark = pytest.mark.stack


def _ps(*args: str) -> list[list[str]]:
    """Rows of `ps -o ... ` (no header), each split into its fields (the last one may hold spaces)."""
    out = subprocess.run(["ps", *args], capture_output=True, text=True).stdout
    return [line.split(None, 2) for line in out.splitlines() if line.strip()]


def children_of(pid: int) -> dict[int, str]:
    """pid → command line of the direct children of `pid`."""
    return {int(row[0]): row[2] if len(row) > 2 else "" for row in _ps("-A", "-o", "pid=,ppid=,args=")
            if len(row) > 1 and int(row[1]) == pid}


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    rows = _ps("-p", str(pid), "-o", "pid=,stat=")
    return bool(rows) and not rows[0][1].startswith("Z")


def test_make_up_restarts_a_crashed_service_and_ctrl_c_stops_everything(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("MONGODB_URI", "S3_ENDPOINT_URL", "SH_BASE_URL", "OIDC_PROVIDERS")}
    env.update({name: str(free_port()) for name in PORT_VARIABLES})
    env.update({"STACK_RUN_DIR": str(tmp_path / "run"), "EXECUTORS": "1", "DEVSTACK_RESTART_MAX_SECONDS": "2",
                "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()

    def wait_for(text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, f"{text!r} not printed:\n{''.join(lines)}"
            time.sleep(0.1)

    try:
        wait_for("Press Ctrl-C to stop.", 120)
        started = children_of(proc.pid)
        assert len(started) == 9, started  # MongoDB, S3, emulator, OIDC, four services, gateway
        store = next(pid for pid, cmd in started.items() if "store_svc" in cmd)
        os.kill(store, signal.SIGKILL)
        wait_for("store restarted", 60)
        assert any("store exited (killed by SIGKILL)" in line for line in lines)
        now = children_of(proc.pid)
        restarted = next(pid for pid, cmd in now.items() if "store_svc" in cmd)
        assert restarted != store and len(now) == 9
        assert grpc_serving(f"127.0.0.1:{env['STORE_PORT']}", timeout=5)
        logged = [json.loads(line)["event"] for line in (tmp_path / "run" / "logs" / "supervisor.log").read_text().splitlines()]
        assert logged == ["supervisor_exited", "supervisor_restarted"]

        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        assert proc.wait(timeout=90) == 0, "".join(lines)
        reader.join(timeout=5)
        assert "stopped." in lines[-1]
        assert [pid for pid in now if alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
