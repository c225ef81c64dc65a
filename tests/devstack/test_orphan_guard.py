"""Children of the local stack die with their launcher, and are started without a preexec_fn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from devstack import processes
from devstack.processes import ORPHAN_GUARD, die_with_parent

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_argv_is_wrapped_on_the_main_thread_only():
    wrapped = die_with_parent(["sleep", "1"])
    if sys.platform.startswith("linux"):
        assert wrapped[:4] == [sys.executable, "-S", "-E", str(ORPHAN_GUARD)]
        assert wrapped[4:] == [str(os.getpid()), "sleep", "1"]
    import threading

    seen = []
    thread = threading.Thread(target=lambda: seen.append(die_with_parent(["sleep", "1"])))
    thread.start()
    thread.join()
    assert seen == [["sleep", "1"]]


def test_no_preexec_fn_anywhere_in_the_stack():
    # a preexec_fn forces fork() and with it the atfork handlers of gRPC, which can hang
    for module in ("processes.py", "mongo.py", "s3.py"):
        assert "preexec_fn" not in (ROOT / "devstack" / module).read_text()


@linux_only
def test_guard_execs_in_place_with_the_same_pid_and_environment(tmp_path):
    out = tmp_path / "out"
    script = f"import os; open({str(out)!r}, 'w').write(f'{{os.getpid()}} {{os.environ[\"GUARD_PROBE\"]}}')"
    proc = subprocess.Popen(die_with_parent([sys.executable, "-c", script]), env={**os.environ, "GUARD_PROBE": "x1"})
    assert proc.wait(timeout=30) == 0
    assert out.read_text() == f"{proc.pid} x1"


@linux_only
def test_guard_refuses_when_the_launcher_is_not_its_parent():
    # launcher pid 1 is not our pid: the launcher "died" before the signal was armed
    result = subprocess.run([sys.executable, "-S", "-E", str(ORPHAN_GUARD), "1", "true"], timeout=30)
    assert result.returncode == 1


def test_guard_reports_a_missing_command():
    result = subprocess.run([sys.executable, "-S", "-E", str(ORPHAN_GUARD), str(os.getpid()), "/nonexistent/cmd"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode in (1, 127)  # 1 off Linux (no parent check passes there either way)
    if sys.platform.startswith("linux"):
        assert result.returncode == 127 and "cannot run /nonexistent/cmd" in result.stderr


@linux_only
def test_child_gets_sigterm_when_its_launcher_is_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    launcher = textwrap.dedent(f"""
        import subprocess, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import grpc  # a gRPC-using launcher, like the bench and the tests
        from devstack.processes import die_with_parent
        child = subprocess.Popen(die_with_parent(["sleep", "60"]), start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", launcher])
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline, "launcher did not start its child"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while "sleep" not in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
            assert time.monotonic() < deadline, "guard did not exec the command"
            time.sleep(0.05)
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "child outlived its launcher"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
        if pid_file.exists() and pid_file.read_text() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_child_process_start_uses_the_guard(tmp_path):
    child = processes.ChildProcess("probe", [sys.executable, "-c", "print('ok')"], {}, tmp_path / "probe.log")
    child.start()
    assert child.proc.wait(timeout=30) == 0
    assert (tmp_path / "probe.log").read_text().strip() == "ok"
    if sys.platform.startswith("linux"):
        assert child.proc.args[3] == str(ORPHAN_GUARD)
