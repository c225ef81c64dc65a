"""The Batch v2 calls the engine needs, through the executor's Sentinel Hub client."""

from __future__ import annotations

from dataclasses import dataclass

BASE = "/api/v2/batch/process"


@dataclass(frozen=True)
class TaskState:
    id: str
    status: str
    completion: float
    cost_pu: float
    error: str
    stopped_reason: str

    @classmethod
    def of(cls, task: dict) -> "TaskState":
        return cls(str(task.get("id", "")), str(task.get("status", "")),
                   float(task.get("completionPercentage") or 0.0), float(task.get("costPU") or 0.0),
                   str(task.get("error") or ""), str(task.get("stoppedStatusReason") or ""))


class BatchApi:
    def __init__(self, sh_client, token: str | None, deployment=None):
        self.sh = sh_client
        self.token = token
        self.deployment = deployment

    async def _call(self, method: str, path: str, what: str, body: dict | None = None):
        return await self.sh.call_json(method, path, token=self.token, deployment=self.deployment,
                                       json_body=body, what=what)

    async def create(self, body: dict) -> TaskState:
        return TaskState.of(await self._call("POST", BASE, "batch task creation", body) or {})

    async def get(self, task_id: str) -> TaskState:
        return TaskState.of(await self._call("GET", f"{BASE}/{task_id}", "batch task status") or {})

    async def start(self, task_id: str) -> None:
        await self._call("POST", f"{BASE}/{task_id}/start", "batch task start")

    async def stop(self, task_id: str) -> None:
        await self._call("POST", f"{BASE}/{task_id}/stop", "batch task stop")
