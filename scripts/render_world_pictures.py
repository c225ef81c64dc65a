"""Renders the emulator's synthetic world as true-colour map tiles (zoom 5, 10 and 14, one place)
through the emulator's own request path (process request → data → evalscript in V8 → PNG), for
docs/world/. Usage: python scripts/render_world_pictures.py [--lon 6.725 --lat 48.42]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mercantile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentinelhub_emulator.evalscript import V8Pool  # noqa: E402
from sentinelhub_emulator.process_request import parse_process_request  # noqa: E402
from sentinelhub_emulator.render import Renderer  # noqa: E402

TRUE_COLOUR = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "AUTO"}};
}
function evaluatePixel(s) {
  return [2.8 * s.B04, 2.8 * s.B03, 2.8 * s.B02];
}
"""


def render_tile(renderer: Renderer, tile: mercantile.Tile, size: int = 256) -> bytes:
    b = mercantile.xy_bounds(tile)
    body = {"input": {"bounds": {"bbox": [b.left, b.bottom, b.right, b.top],
                                 "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}},
                      "data": [{"type": "sentinel-2-l2a", "dataFilter": {
                          "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-07-31T23:59:59Z"},
                          "maxCloudCoverage": 5}}]},
            "output": {"width": size, "height": size, "responses": [{"identifier": "default", "format": {"type": "image/png"}}]},
            "evalscript": TRUE_COLOUR}
    result = renderer.render(parse_process_request(body))
    assert result.content_type == "image/png", result.content_type
    return result.body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lon", type=float, default=6.725)
    ap.add_argument("--lat", type=float, default=48.42)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "world")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(V8Pool(1), 600)
    for zoom in (5, 10, 14):
        tile = mercantile.tile(args.lon, args.lat, zoom)
        path = args.out / f"zoom-{zoom}.png"
        path.write_bytes(render_tile(renderer, tile))
        print(f"{path}: tile {zoom}/{tile.x}/{tile.y}")


if __name__ == "__main__":
    main()
