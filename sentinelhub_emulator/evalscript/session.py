"""A pool of V8 contexts and a per-request session driving one evalscript run.

Pixel data crosses into V8 as ArrayBuffers allocated on the JS side: Python fills them in place through
the memoryview mini-racer exposes (numpy ``frombuffer``), and the JS driver loop writes every pixel's
result into one Float64Array that comes back as a single buffer.
"""
from __future__ import annotations

import atexit
import json
import queue
import weakref
import threading
import time

import numpy as np
from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException, MiniRacer

from ..logs import get_logger
from .prelude import PRELUDE_JS

log = get_logger(__name__)

_LIFECYCLE_LOCK = threading.Lock()


class EvalscriptError(Exception):
    """The evalscript failed (syntax error, exception, time or memory limit, wrong output)."""


class V8Pool:
    def __init__(self, size: int = 2, max_memory: int = 512 * 1024 * 1024):
        self.size = size
        self.max_memory = max_memory
        self._idle: queue.LifoQueue[MiniRacer] = queue.LifoQueue()
        self._lock = threading.Lock()
        self.created = 0
        self.discarded = 0
        # mini-racer's V8 initialisation is not thread-safe (concurrent first use segfaults): warm the
        # pool in the constructing thread and serialise context creation/teardown afterwards.
        for _ in range(max(1, size)):
            self._idle.put(self._new())
        # An interpreter exiting with open mini-racer contexts can hang: close idle ones at exit.
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().close())

    def _new(self) -> MiniRacer:
        with _LIFECYCLE_LOCK:
            ctx = MiniRacer()
        ctx.set_hard_memory_limit(self.max_memory)
        ctx.eval(PRELUDE_JS)
        ctx.eval("__emu_reset()")
        with self._lock:
            self.created += 1
        return ctx

    def acquire(self) -> MiniRacer:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._new()

    def release(self, ctx: MiniRacer, healthy: bool) -> None:
        if healthy:
            try:
                clean = bool(ctx.eval("__emu_reset()", timeout_sec=2))
            except Exception:  # noqa: BLE001 - a context that cannot reset is discarded
                clean = False
            if clean and self._idle.qsize() < self.size:
                self._idle.put(ctx)
                return
        with self._lock:
            self.discarded += 1
        with _LIFECYCLE_LOCK:
            ctx.close()

    def close(self) -> None:
        while True:
            try:
                ctx = self._idle.get_nowait()
                with _LIFECYCLE_LOCK:
                    ctx.close()
            except queue.Empty:
                return


def _clean_message(exc: Exception) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[:6])


class ScriptSession:
    """One evalscript execution; use as a context manager from a worker thread (never the event loop)."""

    def __init__(self, pool: V8Pool, timeout_s: float):
        self.pool = pool
        self.timeout_s = timeout_s
        self.js_seconds = 0.0  # time spent inside V8 (the script's budget; data synthesis is not counted)
        self.ctx: MiniRacer | None = None
        self.healthy = True

    def __enter__(self) -> "ScriptSession":
        self.ctx = self.pool.acquire()
        return self

    def __exit__(self, *exc) -> None:
        if self.ctx is not None:
            self.pool.release(self.ctx, self.healthy)
            self.ctx = None

    def _eval(self, code: str):
        remaining = self.timeout_s - self.js_seconds
        if remaining <= 0:
            self.healthy = False
            raise EvalscriptError(f"Evalscript execution exceeded the time limit of {self.timeout_s:g} s.")
        started = time.monotonic()
        try:
            return self.ctx.eval(code, timeout_sec=remaining)
        except JSTimeoutException:
            self.healthy = False
            raise EvalscriptError(
                f"Evalscript execution exceeded the time limit of {self.timeout_s:g} s.") from None
        except JSOOMException:
            self.healthy = False
            raise EvalscriptError("Evalscript exceeded the memory limit.") from None
        except JSEvalException as exc:
            self.healthy = False
            raise EvalscriptError(_clean_message(exc)) from None
        except Exception as exc:  # noqa: BLE001 - e.g. undecodable values/messages from V8: still a script error
            self.healthy = False
            log.warning("evalscript_engine_error", error=repr(exc))
            raise EvalscriptError(f"Evalscript failed: {type(exc).__name__}") from None
        finally:
            self.js_seconds += time.monotonic() - started

    def load(self, script: str) -> dict:
        """Compile the script and return what ``setup()`` returned."""
        return json.loads(self._eval(f"__emu_load({json.dumps(script)})"))

    def prepare(self, cfg: dict) -> dict:
        return json.loads(self._eval(f"__emu_prepare({json.dumps(json.dumps(cfg))})"))

    def alloc(self, key: str, n_values: int) -> np.ndarray:
        """A float64 array of ``n_values`` living in a V8 ArrayBuffer (filled in place by the caller)."""
        mv = self._eval(f"__emu_alloc({json.dumps(key)}, {int(n_values) * 8})")
        return np.frombuffer(mv, dtype=np.float64, count=n_values)

    def run(self, spec: dict, total_bands: int) -> np.ndarray:
        mv = self._eval(f"__emu_run({json.dumps(json.dumps(spec))})")
        out = np.frombuffer(mv, dtype=np.float64, count=total_bands * spec["npix"])
        return out.copy()

    def metadata(self):
        return json.loads(self._eval("__emu_metadata()"))
