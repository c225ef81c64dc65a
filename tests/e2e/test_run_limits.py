"""Issue 21: one small request cannot take an executor down, and a client that hangs up stops the
work it asked for. Through the whole local stack: gateway -> compiler -> executor."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import requests

from tests.e2e.worldcheck import day_interval, first_acquisition
from datetime import date

ACQ = first_acquisition(date(2024, 6, 1))


def _post(stack, connection, graph: dict, *, timeout: float = 60, request_id: str | None = None):
    headers = {"Authorization": f"Bearer {connection.auth.bearer}"}
    if request_id:
        headers["X-Request-Id"] = request_id
    return requests.post(stack.gateway_url + "/result", json={"process": {"process_graph": graph}},
                         headers=headers, timeout=timeout)


def _rss_bytes(pid: int) -> int:
    out = subprocess.run(["ps", "-p", str(pid), "-o", "rss="], capture_output=True, text=True).stdout.strip()
    return int(out) * 1024 if out else 0


def _executors(stack) -> list:
    return [child for name, child in stack.children.items() if name.startswith("executor") and child.running]


def _executor_log_lines(stack, request_id: str) -> list[dict]:
    lines = []
    for child in _executors(stack):
        for line in child.log_text().splitlines():
            if request_id in line:
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
    return lines


def test_an_array_bomb_is_refused_before_any_work(stack, connection):
    bomb = {"a": {"process_id": "array_create", "arguments": {"data": [1], "repeat": 1_000_000_000}},
            "s": {"process_id": "sum", "arguments": {"data": {"from_node": "a"}}, "result": True}}
    started = time.monotonic()
    response = _post(stack, connection, bomb)
    assert response.status_code == 400 and response.json()["code"] == "ProcessGraphComplexity", response.text
    assert time.monotonic() - started < 5


def test_a_computed_array_bomb_stops_within_the_budget(stack, connection):
    """The size is only known when the graph runs: the executor refuses it before allocating,
    its memory stays where it was, and it goes on serving."""
    bomb = {"n": {"process_id": "multiply", "arguments": {"x": 100_000, "y": 100_000}},
            "a": {"process_id": "array_create", "arguments": {"data": [1], "repeat": {"from_node": "n"}}},
            "s": {"process_id": "sum", "arguments": {"data": {"from_node": "a"}}, "result": True}}
    pids = [child.proc.pid for child in _executors(stack)]
    before = {pid: _rss_bytes(pid) for pid in pids}
    peak = dict(before)
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], _rss_bytes(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        response = _post(stack, connection, bomb)
    finally:
        done.set()
        sampler.join()
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "ProcessGraphComplexity" and "array_create" in body["message"]
    assert time.monotonic() - started < 10
    assert max(peak[pid] - before[pid] for pid in pids) < 300 * 1024 * 1024
    ok = _post(stack, connection, {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}})
    assert ok.status_code == 200 and ok.json() == 3


def test_a_sync_request_stops_in_the_executor_when_the_client_hangs_up(stack, connection):
    """Twenty 101 x 101 kernels over 512 x 512 px take minutes; the client gives up after 3 s and
    the executor stops evaluating at once (its logs say so) instead of computing for nobody."""
    extent = {"west": 14.0, "south": 46.0, "east": 14.066, "north": 46.046}  # ~510 x 510 px at 10 m
    graph = {"l": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "spatial_extent": extent, "temporal_extent": list(day_interval(ACQ)), "bands": ["B04"]}}}
    kernel = [[1] * 101 for _ in range(101)]
    previous = "l"
    for i in range(20):
        graph[f"k{i}"] = {"process_id": "apply_kernel", "arguments": {"data": {"from_node": previous}, "kernel": kernel,
                                                                      "factor": 1 / 10201}}
        previous = f"k{i}"
    graph["s"] = {"process_id": "save_result", "arguments": {"data": {"from_node": previous}, "format": "GTiff"},
                  "result": True}
    request_id = f"cancel-{uuid.uuid4().hex}"
    try:
        _post(stack, connection, graph, timeout=3, request_id=request_id)
        raise AssertionError("the request should have outlasted the client's patience")
    except requests.exceptions.ReadTimeout:
        pass  # requests closes the connection: the client has hung up
    hung_up = time.monotonic()
    events: set[str] = set()
    # generous for a loaded host: on an idle one both lines come within a second
    while time.monotonic() - hung_up < 90 and not {"execute_cancelled", "evaluation_cancelled"} <= events:
        time.sleep(0.2)
        events = {line.get("event") for line in _executor_log_lines(stack, request_id)}
    assert {"execute_cancelled", "evaluation_cancelled"} <= events, events
    stopped_at = next(line for line in _executor_log_lines(stack, request_id) if line.get("event") == "evaluation_cancelled")
    assert stopped_at.get("node_id", "").startswith("k")  # stopped inside the kernels, not after them
    assert "execute_result" not in events
