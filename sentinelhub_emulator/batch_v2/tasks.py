"""Batch v2 tasks: the task object Sentinel Hub returns and its state machine (reference §5.2).

Pure state: the runner (``runner.py``) drives analysis and processing and calls these transitions.
"""
from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import SHError
from .grids import Tile
from .request import TaskRequest

FINAL = ("DONE", "FAILED")
STOPPABLE = ("ANALYSING", "ANALYSIS_DONE", "PROCESSING")
MAX_TILE_ATTEMPTS = 3  # a feature that fails this often is FATAL and not retried


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def conflict(message: str) -> SHError:
    return SHError(409, message, "COMMON_CONFLICT")


@dataclass
class TileState:
    tile: Tile
    status: str = "PENDING"  # PENDING | DONE | FATAL
    error: str | None = None
    delivered: bool = False
    attempts: int = 0


@dataclass
class Task:
    request: TaskRequest
    body: dict  # the stored create body, credentials removed
    account: str
    client_id: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "CREATED"
    error: str | None = None
    user_action: str = "NONE"
    user_action_updated: str | None = None
    created: str = field(default_factory=now_iso)
    last_updated: str = field(default_factory=now_iso)
    cost_pu: float = 0.0
    stopped_status_reason: str | None = None
    stopped_at: float | None = None  # monotonic seconds
    stop_requested: bool = False
    tiles: list[TileState] = field(default_factory=list)

    def touch(self) -> None:
        self.last_updated = now_iso()

    def set_action(self, action: str) -> None:
        self.user_action = action
        self.user_action_updated = now_iso()
        self.touch()

    @property
    def completion(self) -> float:
        if self.status == "DONE":
            return 100.0
        if not self.tiles:
            return 0.0
        finished = sum(1 for t in self.tiles if t.status != "PENDING")
        return round(100.0 * finished / len(self.tiles), 2)

    def as_json(self) -> dict:
        out = {"id": self.id, "request": copy.deepcopy(self.body), "domainAccountId": self.account,
               "status": self.status, "userAction": self.user_action, "created": self.created,
               "lastUpdated": self.last_updated, "completionPercentage": self.completion,
               "costPU": round(self.cost_pu, 6)}
        if self.user_action_updated:
            out["userActionUpdated"] = self.user_action_updated
        if self.error:
            out["error"] = self.error
        if self.status == "STOPPED" and self.stopped_status_reason:
            out["stoppedStatusReason"] = self.stopped_status_reason
        return out

    # ---------------------------------------------------------------- transitions

    def analyse(self) -> bool:
        """Returns True when an analysis must be run."""
        if self.status != "CREATED":
            raise conflict(f"Cannot analyse a task in status {self.status}.")
        self.status = "ANALYSING"
        self.set_action("ANALYSE")
        return True

    def start(self, restart_lock_s: float) -> str:
        """What the runner must do: 'analyse_then_process' or 'process'."""
        if self.status == "CREATED":
            self.status = "ANALYSING"
            self.set_action("START")
            return "analyse_then_process"
        if self.status == "ANALYSING":  # START during an analysis: processing follows it
            self.set_action("START")
            return "none"
        if self.status == "ANALYSIS_DONE":
            self.status = "PROCESSING"
            self.set_action("START")
            return "process"
        if self.status == "STOPPED":
            waited = time.monotonic() - (self.stopped_at or 0.0)
            if waited < restart_lock_s:
                raise conflict(f"A stopped task can be started again {restart_lock_s / 60:g} minutes after it was "
                               f"stopped; {int(restart_lock_s - waited)} s left.")
            self.stopped_status_reason = None
            self.stop_requested = False
            self.status = "PROCESSING" if self.tiles else "ANALYSING"
            self.set_action("START")
            return "process" if self.tiles else "analyse_then_process"
        raise conflict(f"Cannot start a task in status {self.status}.")

    def stop(self) -> None:
        if self.status not in STOPPABLE:
            raise conflict(f"Cannot stop a task in status {self.status}.")
        self.stop_requested = True
        self.set_action("STOP")
        if self.status != "ANALYSING":  # an analysis completes first, then the task stops
            self.mark_stopped("USER_ACTION")

    def mark_stopped(self, reason: str) -> None:
        self.status = "STOPPED"
        self.stopped_status_reason = reason
        self.stopped_at = time.monotonic()
        self.touch()

    def analysis_done(self, tiles: list[Tile]) -> bool:
        """Record the analysis; True when processing follows (START was asked and no stop since)."""
        self.tiles = [TileState(t) for t in tiles]
        if self.stop_requested:
            self.mark_stopped("USER_ACTION")
            return False
        go = self.user_action == "START"
        self.status = "PROCESSING" if go else "ANALYSIS_DONE"
        self.touch()
        return go

    def fail(self, message: str) -> None:
        self.status = "FAILED"
        self.error = message
        self.touch()

    def finish(self) -> None:
        """All tiles finished (DONE or FATAL): Sentinel Hub ends such a task DONE."""
        self.status = "DONE"
        self.touch()
