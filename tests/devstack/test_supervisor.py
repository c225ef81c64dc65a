"""devstack.supervisor on small real processes: restarts with backoff, crash loops, stops on purpose."""

from __future__ import annotations

import json
import sys
import time

import pytest

from devstack.processes import ORPHAN_GUARD, ChildProcess, LauncherThread, die_with_parent, wait_until
from devstack.supervisor import Part, RestartPolicy, Supervisor

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(120)"]
CRASHER = [sys.executable, "-c", "import sys; print('bad config: no such file', flush=True); sys.exit(3)"]


def _part(tmp_path, name: str, argv: list[str]) -> Part:
    child = ChildProcess(name, argv, {}, tmp_path / f"{name}.log")

    def start() -> None:
        child.start()
        # the services' readiness check, reduced to "the process runs and printed something"
        wait_until(lambda: child.log_text().count("\n") >= 1, 10, name, None)

    return Part(name, child, start, child.log_path)


@pytest.fixture
def supervise(tmp_path):
    started: list[Supervisor] = []

    def run(parts: list[Part], policy: RestartPolicy) -> tuple[Supervisor, list[str]]:
        printed: list[str] = []
        for part in parts:
            part.start()
        supervisor = Supervisor({p.name: p for p in parts}, policy, tmp_path / "supervisor.log", echo=printed.append)
        supervisor.start()
        started.append(supervisor)
        return supervisor, printed

    yield run
    for supervisor in started:
        supervisor.halt()
        for part in supervisor.parts.values():
            part.handle.stop(timeout=5)
        supervisor.join()


def _wait(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_delays_double_from_the_initial_delay_up_to_the_cap():
    policy = RestartPolicy(initial_seconds=0.5, max_seconds=3.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_a_killed_part_is_restarted_and_each_restart_is_printed_and_logged(tmp_path, supervise):
    part = _part(tmp_path, "store", SLEEPER)
    supervisor, printed = supervise([part], RestartPolicy(initial_seconds=0.05))
    first_pid = part.handle.pid
    part.handle.kill()
    log = tmp_path / "supervisor.log"
    # the restart is counted before it is printed and logged: wait for all three
    _wait(lambda: part.restarts == 1 and len(printed) >= 2 and log.exists() and len(log.read_text().splitlines()) >= 2)
    assert part.handle.running and part.handle.pid != first_pid
    assert [e.kind for e in supervisor.events] == ["exited", "restarted"]
    assert "store exited (killed by SIGKILL)" in printed[0] and "store restarted" in printed[1]
    logged = [json.loads(line) for line in (tmp_path / "supervisor.log").read_text().splitlines()]
    assert [(e["event"], e["component"]) for e in logged] == [
        ("supervisor_exited", "store"), ("supervisor_restarted", "store")
    ]
    assert logged[1]["pid"] == part.handle.pid


def test_a_part_stopped_on_purpose_stays_down(tmp_path, supervise):
    part = _part(tmp_path, "compiler", SLEEPER)
    supervisor, _ = supervise([part], RestartPolicy(initial_seconds=0.05))
    with part.lock:
        part.wanted = False
        part.handle.stop(timeout=5)
    time.sleep(1.0)
    assert not part.handle.running and part.restarts == 0 and supervisor.events == []


def test_a_crash_loop_is_reported_with_the_log_and_retried_at_growing_delays(tmp_path, supervise):
    part = _part(tmp_path, "gateway", SLEEPER)
    supervisor, printed = supervise(
        [part], RestartPolicy(initial_seconds=0.05, max_seconds=0.2, crash_loop_crashes=3, crash_loop_window_seconds=60)
    )
    part.handle.argv = CRASHER  # from now on it fails right after starting
    part.handle.kill()
    _wait(lambda: sum(e.kind == "exited" for e in supervisor.events) >= 5)
    exits = [e for e in supervisor.events if e.kind == "exited"]
    assert [e.detail["delay_seconds"] for e in exits[:5]] == [0.05, 0.1, 0.2, 0.2, 0.2]
    assert exits[0].detail["how"] == "killed by SIGKILL"
    assert {e.detail["how"] for e in exits[1:5]} <= {"exit code 3", "did not come up"}
    loops = [e for e in supervisor.events if e.kind == "crash_loop"]
    assert len(loops) == 1  # reported once, not on every further crash
    message = next(line for line in printed if "CRASH LOOP" in line)
    assert "gateway exited 3 times" in message and "bad config: no such file" in message


def test_children_started_by_a_launcher_thread_die_with_the_launcher():
    # the supervisor's watchers are LauncherThreads: what they restart keeps the parent-death signal
    seen: list[list[str]] = []
    thread = LauncherThread(target=lambda: seen.append(die_with_parent(["sleep", "1"])))
    thread.start()
    thread.join()
    if sys.platform.startswith("linux"):
        assert seen[0][:4] == [sys.executable, "-S", "-E", str(ORPHAN_GUARD)]
    else:
        assert seen[0] == ["sleep", "1"]
