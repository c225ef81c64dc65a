"""Fair sharing on a local stack (real processes): user B's work while user A floods the backend.

Starts a stack (1 executor with 2 batch workers) whose billing plan (a temporary plans file) lets
one user queue 1000 jobs and hold 4 synchronous requests in flight, then prints side by side:

- B's single small batch job (create + start until `finished`, polled every 0.1 s): median of
  `--runs` on the idle stack, and of `--runs` submitted one after another behind A's `--backlog`
  queued jobs (the queue serves owners in turn, `store_svc/job_queue.py`), with the ratio;
- B's synchronous request latency (POST /result, small NDVI): median of `--sync-runs` idle and
  while A floods /result from `--flood-threads` threads that wait `Retry-After` after a 429 (A gets
  429 above its share of `GATEWAY_SYNC_CAPACITY` = `--sync-capacity` while B has requests in
  flight, `gateway/quotas.py`), with the ratio and A's answers.

Usage: .venv/bin/python bench/bench_fairness.py [--backlog 200] [--runs 3] [--sync-runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.stack import (  # noqa: E402
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, Stack, StackConfig,
)

BBOX = {"west": 14.0013, "south": 46.0017, "east": 14.0063, "north": 46.0057}
GRAPH = {
    "load": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "spatial_extent": BBOX, "temporal_extent": ["2024-06-01", "2024-06-06"],
        "bands": ["B04", "B08"]}},
    "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
    "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"},
             "result": True},
}
PLANS = {"currency": "PU", "default_plan": "bench", "plans": [{
    "name": "bench", "description": "fairness benchmark", "paid": False,
    "limits": {"concurrent_jobs": 1000, "sync_requests_per_minute": 100000, "sync_requests_in_flight": 4}}]}


def session(stack, client_id: str, secret: str) -> requests.Session:
    s = requests.Session()
    r = s.get(stack.gateway_url + "/credentials/basic", auth=(client_id, secret), timeout=30)
    r.raise_for_status()
    s.headers["Authorization"] = "Bearer basic//" + r.json()["access_token"]
    return s


def create_job(s: requests.Session, url: str) -> str:
    r = s.post(url + "/jobs", json={"process": {"process_graph": GRAPH}}, timeout=60)
    r.raise_for_status()
    return r.headers["OpenEO-Identifier"]


def start_job(s: requests.Session, url: str, job_id: str) -> None:
    r = s.post(f"{url}/jobs/{job_id}/results", timeout=120)
    if r.status_code != 202:
        raise RuntimeError(f"start refused: {r.status_code} {r.text}")


def job_seconds(s: requests.Session, url: str) -> float:
    """Seconds from create + start to `finished` of one job."""
    t0 = time.perf_counter()
    job_id = create_job(s, url)
    start_job(s, url, job_id)
    while True:
        status = s.get(f"{url}/jobs/{job_id}", timeout=60).json()["status"]
        if status == "finished":
            return time.perf_counter() - t0
        if status in ("error", "canceled"):
            raise RuntimeError(f"job {job_id} ended {status}")
        time.sleep(0.1)


def sync_seconds(s: requests.Session, url: str) -> tuple[float, int, float]:
    """(seconds, HTTP status, Retry-After seconds or 0)."""
    t0 = time.perf_counter()
    r = s.post(url + "/result", json={"process": {"process_graph": GRAPH}}, timeout=300)
    return time.perf_counter() - t0, r.status_code, float(r.headers.get("Retry-After") or 0)


def b_sync_median(s: requests.Session, url: str, runs: int) -> float:
    """Median latency of B's requests; every one must succeed (a 429 would be fast, not fair)."""
    times = []
    for _ in range(runs):
        seconds, status, _ = sync_seconds(s, url)
        if status != 200:
            raise RuntimeError(f"B's synchronous request answered {status}")
        times.append(seconds)
    return statistics.median(times)


def queued_count(s: requests.Session, url: str, ids: list[str]) -> int:
    return sum(s.get(f"{url}/jobs/{i}", timeout=60).json()["status"] == "queued" for i in ids[-20:])


def run(stack: Stack, args) -> None:
    url = stack.gateway_url
    a = session(stack, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    b = session(stack, SECOND_CLIENT_ID, SECOND_CLIENT_SECRET)
    job_seconds(b, url), sync_seconds(b, url)  # warm-up (compiler, V8 contexts, connections)

    idle_job = statistics.median(job_seconds(b, url) for _ in range(args.runs))
    idle_sync = b_sync_median(b, url, args.sync_runs)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: create_job(a, url), range(args.backlog)))
        list(pool.map(lambda i: start_job(a, url, i), ids))
    print(f"A queued {len(ids)} jobs in {time.perf_counter() - t0:.1f} s; "
          f"{queued_count(a, url, ids)} of A's last 20 still queued when B submits")
    flood_job = statistics.median(job_seconds(b, url) for _ in range(args.runs))
    left = queued_count(a, url, ids)
    print(f"after B's jobs: {left} of A's last 20 still queued")
    with ThreadPoolExecutor(8) as pool:  # clean up A's backlog
        list(pool.map(lambda i: a.delete(f"{url}/jobs/{i}/results", timeout=60), ids))

    stop = threading.Event()
    answers: Counter = Counter()

    def flood():  # as a well-behaved client: waits Retry-After after a 429
        while not stop.is_set():
            try:
                _, status, retry_after = sync_seconds(a, url)
            except requests.RequestException:
                return  # the stack is stopping
            answers[status] += 1
            if status == 429:
                stop.wait(retry_after)

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(args.flood_threads)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    try:
        flood_sync = b_sync_median(b, url, args.sync_runs)
    finally:
        stop.set()
    for t in threads:
        t.join()

    print()
    print(f"{'':44s}{'idle':>9s}{'A floods':>10s}{'ratio':>8s}")
    print(f"{'B batch job, create..finished (s)':44s}{idle_job:9.2f}{flood_job:10.2f}{flood_job / idle_job:8.2f}")
    print(f"{'B sync /result latency, median (s)':44s}{idle_sync:9.2f}{flood_sync:10.2f}{flood_sync / idle_sync:8.2f}")
    print(f"A's backlog: {args.backlog} queued jobs; A's sync flood: {args.flood_threads} threads, answers "
          f"{dict(answers)} (429 = over its share of {args.sync_capacity} requests in flight)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backlog", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sync-runs", type=int, default=9)
    ap.add_argument("--flood-threads", type=int, default=16)
    ap.add_argument("--sync-capacity", type=int, default=2, help="GATEWAY_SYNC_CAPACITY (the host has 2 cores)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-fairness-") as tmp:
        plans = Path(tmp) / "plans.json"
        plans.write_text(json.dumps(PLANS))
        env = {"GATEWAY_BILLING_PLANS_FILE": str(plans), "EXECUTOR_POLL_SECONDS": "0.2",
               "GATEWAY_SYNC_CAPACITY": str(args.sync_capacity)}
        stack = Stack(StackConfig.free_ports(Path(tmp), executors=1, log_level="warning", extra_env=env))
        stack.start()
        try:
            run(stack, args)
        finally:
            stack.stop()
    print(f"load average after:  {os.getloadavg()}")


if __name__ == "__main__":
    main()
