"""Keeps the local stack running the way an orchestrator keeps a deployment running: a part whose
process exits without having been asked to stop is started again, after a delay that doubles with
each crash in a row up to a cap; every exit and restart is printed and logged; a part that keeps
crashing is reported as a crash loop (and still retried, at the capped delay).

One watcher thread per part. It is a `LauncherThread`, so the processes it restarts get the
parent-death signal as the first start did (they die with `make up`); the thread lives until the
stack has stopped its processes.

A part is anything with the small process interface of `ChildProcess`, `MongoProcess` and
`S3Process` (`crashed`, `running`, `returncode`, `pid`) and a `start` that starts it and waits
until it answers. Who else acts on a part (`Stack.kill`, `Stack.restart`, ...) takes the part's
lock, as the watcher does when it restarts it, so the two never start one part twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devstack.processes import LauncherThread, describe_exit

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class RestartPolicy:
    """Delays before restarts: `initial_seconds` after the first crash, doubled for each further
    crash in a row, at most `max_seconds`. A part that ran `healthy_after_seconds` since its last
    start counts as recovered (the next crash waits `initial_seconds` again). `crash_loop_crashes`
    crashes within `crash_loop_window_seconds` are reported as a crash loop."""

    initial_seconds: float = 0.5
    max_seconds: float = 30.0
    healthy_after_seconds: float = 30.0
    crash_loop_crashes: int = 5
    crash_loop_window_seconds: float = 120.0

    def delay(self, crashes_in_a_row: int) -> float:
        if crashes_in_a_row <= 0:
            return 0.0
        return min(self.max_seconds, self.initial_seconds * 2 ** (crashes_in_a_row - 1))


@dataclass
class Part:
    """One supervised process: its handle, how to start it (and wait until it answers), and
    whether it should run (False after `Stack.stop(name)`)."""

    name: str
    handle: Any
    start: Callable[[], None]
    log_path: Path | None = None
    wanted: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Event:
    at: float  # time.time()
    part: str
    kind: str  # "exited" | "restarted" | "restart_failed" | "crash_loop"
    detail: dict


class Supervisor:
    def __init__(
        self,
        parts: dict[str, Part],
        policy: RestartPolicy,
        log_path: Path,
        echo: Callable[[str], None] | None = print,
    ):
        self.parts = parts
        self.policy = policy
        self.log_path = log_path
        self.echo = echo
        self.events: list[Event] = []
        self._halted = threading.Event()  # no more restarts (the stack is stopping)
        self._exit = threading.Event()  # watchers end (after the stack stopped its processes)
        self._threads: list[threading.Thread] = []
        self._events_lock = threading.Lock()

    def start(self) -> None:
        for part in self.parts.values():
            thread = LauncherThread(target=self._watch, args=(part,), name=f"supervise-{part.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def halt(self) -> None:
        """Stops restarting; the watchers' children keep running until the stack stops them."""
        self._halted.set()
        # wait for a restart in progress to finish, so that the caller stops what it started
        for part in self.parts.values():
            with part.lock:
                pass

    def join(self) -> None:
        self._halted.set()
        self._exit.set()
        for thread in self._threads:
            thread.join(timeout=5)

    # ---- reporting ----
    def _report(self, part: str, kind: str, message: str, **detail) -> None:
        event = Event(time.time(), part, kind, detail)
        with self._events_lock:
            self.events.append(event)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            line = {
                "timestamp": datetime.fromtimestamp(event.at, timezone.utc).isoformat(),
                "service": "devstack",
                "level": "error" if kind in ("crash_loop", "restart_failed") else "warning",
                "event": f"supervisor_{kind}",
                "component": part,
                "message": message,
                **detail,
            }
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(line) + "\n")
        if self.echo is not None:
            stamp = datetime.fromtimestamp(event.at).strftime("%H:%M:%S")
            self.echo(f"[devstack {stamp}] {message}")

    # ---- one watcher per part ----
    def _watch(self, part: Part) -> None:
        crashes: deque[float] = deque()
        in_a_row = 0
        in_crash_loop = False
        failed_start = False  # the last restart did not come up: a crash too
        while not self._exit.wait(POLL_SECONDS):
            if self._halted.is_set():
                continue
            with part.lock:
                if not self._needs_start(part, failed_start):
                    failed_start = False
                    if in_a_row and time.monotonic() - part.started_at > self.policy.healthy_after_seconds:
                        in_a_row, in_crash_loop = 0, False
                    continue
                how = describe_exit(part.handle.returncode) if not failed_start else "did not come up"
            now = time.monotonic()
            in_a_row += 1
            crashes.append(now)
            while crashes and now - crashes[0] > self.policy.crash_loop_window_seconds:
                crashes.popleft()
            delay = self.policy.delay(in_a_row)
            self._report(
                part.name, "exited",
                f"{part.name} exited ({how}); restarting in {delay:.1f} s (crash {in_a_row} in a row)",
                how=how, delay_seconds=delay, crashes_in_a_row=in_a_row,
            )
            if len(crashes) >= self.policy.crash_loop_crashes and not in_crash_loop:
                in_crash_loop = True
                self._report(
                    part.name, "crash_loop",
                    f"CRASH LOOP: {part.name} exited {len(crashes)} times in "
                    f"{self.policy.crash_loop_window_seconds:.0f} s; still retrying, at most every "
                    f"{self.policy.max_seconds:.0f} s. Last lines of {part.log_path}:\n{self._tail(part)}",
                    crashes=len(crashes), log=str(part.log_path),
                )
            if self._exit.wait(delay) or self._halted.is_set():
                continue
            with part.lock:
                if self._halted.is_set() or not self._needs_start(part, failed_start):
                    failed_start = False
                    continue  # stopped on purpose or started by someone else meanwhile
                began = time.monotonic()
                try:
                    part.start()
                except Exception as exc:  # noqa: BLE001 - reported, then retried with a longer delay
                    failed_start = True
                    self._kill_quietly(part)
                    # the first line says why; the log tail that follows is in the part's own log
                    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
                    self._report(part.name, "restart_failed", f"{part.name} did not come up: {reason}",
                                 error=str(exc)[:2000])
                    continue
                failed_start = False
                part.restarts += 1
                part.started_at = time.monotonic()
                self._report(
                    part.name, "restarted",
                    f"{part.name} restarted (pid {part.handle.pid}, answering after {part.started_at - began:.1f} s)",
                    pid=part.handle.pid, seconds=round(part.started_at - began, 3), restarts=part.restarts,
                )

    @staticmethod
    def _needs_start(part: Part, failed_start: bool) -> bool:
        """Should run, does not, and was not stopped on purpose (it crashed, was killed, or the
        watcher's last restart failed)."""
        return part.wanted and not part.handle.running and (part.handle.crashed or failed_start)

    @staticmethod
    def _kill_quietly(part: Part) -> None:
        try:
            part.handle.kill()
        except Exception:  # noqa: BLE001 - it may not have started at all
            pass

    @staticmethod
    def _tail(part: Part, lines: int = 15) -> str:
        if part.log_path is None:
            return "(no log)"
        try:
            text = part.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text.splitlines()[-lines:])
