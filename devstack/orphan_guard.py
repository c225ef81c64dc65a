"""Runs a command that dies with its launcher: `python orphan_guard.py LAUNCHER_PID CMD [ARG...]`.

Sets Linux's parent-death signal (SIGTERM), checks that the launcher is still its parent, then
execs CMD in place (same pid, same environment). The stack starts every child through this
instead of a `preexec_fn`: a preexec_fn makes CPython fork() rather than vfork(), and fork() runs
the launcher's atfork handlers, where gRPC's can block forever while its own threads are busy
(seen here: a bench hung in fork() starting the gateway). Run with `-S -E`; imports only the
standard library."""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """True when the kernel will send `sig` to this process once its parent dies (Linux only)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig)) == 0
    except (OSError, AttributeError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: orphan_guard.py LAUNCHER_PID CMD [ARG...]", file=sys.stderr)
        return 2
    launcher, command = int(argv[0]), argv[1:]
    set_parent_death_signal()
    if os.getppid() != launcher:
        return 1  # the launcher died before the signal was armed: do not start an orphan
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"orphan_guard: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
