"""Synthetic data generation of the emulator's world (`world.band_values`: the landscape, clouds and
four bands) on 1000 x 1000 grids in EPSG:4326, UTM 33N and Web Mercator, median of interleaved runs;
with `--baseline DIR` (another checkout of this repository) side by side with that checkout's world.

Usage: .venv/bin/python bench/bench_world.py [--baseline ../main] [--repeat 7]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sentinelhub_emulator  # noqa: E402,F401  (the package the world's relative imports need)

GRIDS = [("EPSG:4326", 4326, (14.0, 46.0, 14.1, 46.1)), ("UTM 33N", 32633, (400000, 5090000, 410000, 5100000)),
         ("Web Mercator", 3857, (1558472, 5780000, 1568472, 5790000))]
DAY = datetime(2024, 6, 5, 10, 30, tzinfo=timezone.utc)
BANDS = ["B02", "B04", "B08", "dataMask"]


def load_world(checkout: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"sentinelhub_emulator.{name}", checkout / "sentinelhub_emulator" / "world.py")
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "sentinelhub_emulator"
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def once(world, crs: int, bbox) -> float:
    lon, lat = world.pixel_centers_lonlat(bbox, crs, 1000, 1000, views=True)
    t0 = time.perf_counter()
    world.band_values("sentinel-2-l2a", BANDS, DAY, lon, lat)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, help="another checkout whose world to compare with")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    worlds = {"this": load_world(ROOT, "world_this")}
    if args.baseline:
        worlds["baseline"] = load_world(args.baseline.resolve(), "world_baseline")
    for label, crs, bbox in GRIDS:
        times: dict[str, list[float]] = {name: [] for name in worlds}
        for _ in range(args.repeat):
            for name, world in worlds.items():  # interleaved: both see the same machine load
                times[name].append(once(world, crs, bbox))
        this = statistics.median(times["this"]) * 1000
        line = f"{label:13s} 1000x1000, 4 bands: this {this:7.1f} ms"
        if "baseline" in times:
            base = statistics.median(times["baseline"]) * 1000
            line += f"   baseline {base:7.1f} ms   ratio {this / base:4.2f}"
        print(line)


if __name__ == "__main__":
    main()
