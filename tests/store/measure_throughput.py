"""Measures the store against SecantusDB: job creations/s, claims/s (not a test; run by hand).

    .venv/bin/python -m tests.store.measure_throughput [--jobs 300] [--workers 8] [--history 2000] [--data-dir DIR]

`--history` first fills the jobs collection with that many finished jobs, so the claim figure
reflects a collection with a past rather than an empty one. `--data-dir` runs the server on disk,
as `make up` does (every commit fsyncs the journal); without it the data is in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter

import grpc
import pymongo

from backend_common.logging import configure_logging
from backend_proto.v1 import common_pb2, store_pb2, store_pb2_grpc
from devstack.mongo import start_mongodb
from store_svc.app import run
from store_svc.config import StoreConfig
from tests.store.conftest import PROCESS, free_port, wait_serving


async def fill_history(uri: str, db: str, count: int) -> None:
    client = pymongo.MongoClient(uri)
    now = time.time()
    from store_svc.timeutil import from_millis
    docs = [
        {"_id": f"j-hist{i}", "user_id": f"basic:hist{i % 50}", "status": "finished", "version": 3,
         "created": from_millis(int((now - 86400 + i) * 1000)), "queued_at": None, "lease_expires": None,
         "process_json": PROCESS, "attempts": 1}
        for i in range(count)
    ]
    for start in range(0, count, 500):
        await asyncio.to_thread(client[db].jobs.insert_many, docs[start:start + 500])
    client.close()


async def main(jobs: int, workers: int, history: int, data_dir: str | None = None) -> None:
    configure_logging("store", "warning")
    mongo = start_mongodb(data_dir=data_dir)
    address = f"127.0.0.1:{free_port()}"
    db = f"bench_{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    task = asyncio.create_task(run(StoreConfig(listen=address, mongodb_uri=mongo.uri, mongodb_db=db), stop_event=stop))
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            await wait_serving(channel)
            if history:
                await fill_history(mongo.uri, db, history)
            stub = store_pb2_grpc.StoreServiceStub(channel)
            owner = common_pb2.User(user_id="basic:bench")
            ids: list[str] = []

            async def creator(n: int) -> None:
                for _ in range(n):
                    job = await stub.CreateJob(store_pb2.CreateJobRequest(user=owner, process_json=PROCESS))
                    ids.append(job.id)

            started = time.perf_counter()
            await asyncio.gather(*(creator(jobs // workers) for _ in range(workers)))
            created_per_s = len(ids) / (time.perf_counter() - started)

            for job_id in ids:
                await stub.QueueJob(store_pb2.JobRef(user=owner, job_id=job_id))

            claimed: list[str] = []

            async def worker(name: str) -> None:
                while True:
                    reply = await stub.ClaimJob(store_pb2.ClaimJobRequest(worker_id=name, lease_seconds=300))
                    if not reply.HasField("job"):
                        return
                    claimed.append(reply.job.id)

            started = time.perf_counter()
            await asyncio.gather(*(worker(f"w{i}") for i in range(workers)))
            claims_per_s = len(claimed) / (time.perf_counter() - started)
            twice = [job_id for job_id, count in Counter(claimed).items() if count > 1]
            print(f"history={history} jobs={len(ids)} concurrency={workers}")
            print(f"  creations/s: {created_per_s:.0f}")
            print(f"  claims/s:    {claims_per_s:.0f}  (claimed {len(claimed)}, claimed twice: {len(twice)})")
    finally:
        stop.set()
        await task
        mongo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.workers, args.history, args.data_dir))
