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

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the children in /proc"),
]


def children_of(pid: int) -> dict[int, str]:
    """pid → command line of the direct children of `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # the command name (field 2) may contain spaces: the parent pid follows its closing ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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
