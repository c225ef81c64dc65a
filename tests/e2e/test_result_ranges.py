"""Issue 23 'done when': a window of a batch job's COG read through GDAL's /vsicurl/ with the signed
URL (no Authorization header) is served with range requests, far fewer bytes than the file; the
window equals the same pixels of the whole file."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import rasterio
import requests
from rasterio.windows import Window

from tests.e2e.worldcheck import day_interval, first_acquisition

ACQ = first_acquisition(date(2024, 7, 1))
# about 1550 x 1330 px at 10 m: a COG with overviews, several MB
BBOX = {"west": 14.00, "south": 46.00, "east": 14.20, "north": 46.12}


def _served(stack, job_id: str) -> list[dict]:
    lines = []
    for line in stack.children["gateway"].log_text().splitlines():
        if '"asset_served"' in line and job_id in line:
            lines.append(json.loads(line))
    return lines


def test_a_window_of_a_batch_cog_through_vsicurl_reads_a_small_part(stack, connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ),
                                      bands=["B04", "B08"])
    job = cube.ndvi(nir="B08", red="B04").save_result("GTiff").create_job(title="ranges")
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    assets = job.get_results().get_metadata()["assets"]
    (name, asset), = [(n, a) for n, a in assets.items() if n.endswith(".tif")]
    href = asset["href"]
    size = int(requests.head(href, timeout=30).headers["Content-Length"])
    assert size > 2_000_000, size

    options = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_HTTP_MAX_RETRY": "0",
               "VSI_CACHE": "FALSE", "CPL_VSIL_CURL_USE_HEAD": "NO",
               "GDAL_HTTP_MULTIRANGE": "SINGLE"}
    with rasterio.Env(**options), rasterio.open(f"/vsicurl/{href}") as ds:
        assert ds.width > 1500 and ds.height > 1300
        block_rows, block_cols = ds.block_shapes[0]
        # a window inside the second block of the second block row: one tile to fetch
        window_of = Window(block_cols + 10, block_rows + 10, 200, 200)
        window = ds.read(1, window=window_of)
        assert ds.descriptions and ds.descriptions[0]
    served = _served(stack, job.job_id)
    assert served and all(line["status"] == 206 for line in served), served
    sent = sum(line["bytes"] for line in served)
    print(f"vsicurl window read: {sent} of {size} bytes served in {len(served)} range requests")
    assert sent < size / 10, (sent, size)

    whole = tmp_path / name
    whole.write_bytes(requests.get(href, timeout=60).content)
    assert whole.stat().st_size == size
    with rasterio.open(whole) as ds:
        np.testing.assert_array_equal(window, ds.read(1, window=window_of))
