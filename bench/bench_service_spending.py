"""Why tiles_svc batches the processing units of tiles: the store's cost per reported tile.

Starts SecantusDB and a store in this process, creates one XYZ service, then reports `--tiles`
rendered tiles (a) one AddServiceSpending per tile, `--concurrency` at a time (what a write per
tile would cost the store while tiles render in parallel), and (b) as tiles_svc does: one call
per flush period carrying the sum per service. Prints the wall time per tile of each, side by
side with the ratio, and checks that both give the same totals.

Usage: .venv/bin/python bench/bench_service_spending.py [--tiles 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_proto.v1 import common_pb2, store_pb2, store_pb2_grpc  # noqa: E402
from devstack.mongo import start_mongodb  # noqa: E402
from devstack.processes import free_port  # noqa: E402
from store_svc.app import run  # noqa: E402
from store_svc.config import StoreConfig  # noqa: E402

PROCESS = json.dumps({"process_graph": {"a": {"process_id": "absolute", "arguments": {"x": 1}, "result": True}}})
PU = 0.0833


async def service(stub, name: str) -> store_pb2.Service:
    return await stub.CreateService(store_pb2.CreateServiceRequest(
        user=common_pb2.User(user_id=name), process_json=PROCESS, type="XYZ", enabled=True, configuration_json="{}"))


def entry(svc, tiles: int) -> store_pb2.ServiceSpendingEntry:
    return store_pb2.ServiceSpendingEntry(service_id=svc.id, user_id=svc.user_id, processing_units=PU * tiles,
                                          tiles=tiles)


async def main(tiles: int, concurrency: int) -> None:
    mongo = start_mongodb()
    address = f"127.0.0.1:{free_port()}"
    stop = asyncio.Event()
    task = asyncio.create_task(run(StoreConfig(listen=address, mongodb_uri=mongo.uri, mongodb_db="bench_spending",
                                               lease_grace_seconds=0.0), stop_event=stop, grace_seconds=0.5))
    channel = grpc.aio.insecure_channel(address)
    await channel.channel_ready()
    stub = store_pb2_grpc.StoreServiceStub(channel)
    try:
        for _ in range(50):
            try:
                per_tile_svc, batched_svc = await service(stub, "per-tile"), await service(stub, "batched")
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.1)
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await stub.AddServiceSpending(store_pb2.ServiceSpendingBatch(entries=[entry(per_tile_svc, 1)]))

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(tiles)))
        per_tile = (time.perf_counter() - started) / tiles
        started = time.perf_counter()
        await stub.AddServiceSpending(store_pb2.ServiceSpendingBatch(entries=[entry(batched_svc, tiles)]))
        batched = (time.perf_counter() - started) / tiles
        a = await stub.GetServiceForTiles(store_pb2.ServiceRef(service_id=per_tile_svc.id))
        b = await stub.GetServiceForTiles(store_pb2.ServiceRef(service_id=batched_svc.id))
        assert a.tiles_rendered == b.tiles_rendered == tiles and abs(a.costs - b.costs) < 1e-6
        for svc in (per_tile_svc, batched_svc):  # every increment reached the owner's month too
            month = await stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=svc.user_id))
            assert abs(month.processing_units - PU * tiles) < 1e-6, month
        print(f"{tiles} tiles, {concurrency} at a time: one write per tile {per_tile * 1e3:.3f} ms/tile, "
              f"one batch {batched * 1e3:.4f} ms/tile, ratio {per_tile / batched:.0f}x; "
              f"costs {a.costs:.3f} PU both ways")
    finally:
        await channel.close()
        stop.set()
        await task
        mongo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.tiles, args.concurrency))
