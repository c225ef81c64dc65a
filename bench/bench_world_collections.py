"""Synthetic-world cost per collection type: median time of `world.band_values` for two bands plus
`dataMask` over a size×size EPSG:4326 grid, side by side with Sentinel-2 L2A (the ratio is what the
new collection models add to a Process API request's rendering; V8 and encoding come on top, see
bench_emulator.py).

Usage: .venv/bin/python bench/bench_world_collections.py [--size 1000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinelhub_emulator import world  # noqa: E402

UTC = timezone.utc


def first_date(cid: str):
    spec = world.collection_spec(cid)
    if spec.epoch is None:
        return None
    start = datetime(2021, 6, 1, tzinfo=UTC)
    if spec.end is not None and spec.end < start:
        start = spec.end - timedelta(days=120)
    return world.acquisition_dates(cid, start, start + timedelta(days=60))[0]


def median_ms(cid: str, size: int, repeat: int) -> float:
    spec = world.collection_spec(cid)
    bands = [b for b in spec.band_names if b != "dataMask"][:2] + ["dataMask"]
    d = first_date(cid)
    lon, lat = world.pixel_centers_lonlat((11.0, 46.0, 11.1, 46.1), 4326, size, size, views=True)
    world.band_values(cid, bands, d, lon, lat)  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        world.band_values(cid, bands, d, lon, lat)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    base = median_ms("sentinel-2-l2a", args.size, args.repeat)
    print(f"{'collection':<20} {'median ms':>10} {'vs S2 L2A':>10}   ({args.size}x{args.size} px, 2 bands + dataMask)")
    for cid in world.COLLECTIONS:
        ms = median_ms(cid, args.size, args.repeat)
        print(f"{cid:<20} {ms:>10.1f} {ms / base:>10.2f}")


if __name__ == "__main__":
    main()
