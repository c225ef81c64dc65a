"""Issue 23 'done when': a window of a batch job's COG read through GDAL's /vsicurl/ with the signed
URL (no Authorization header) is served with range requests, far fewer bytes than the file; the
window equals the same pixels of the whole file."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import rasterio
import requests
from rasterio.windows import Window

from tests.e2e.worldcheck import day_interval, first_acquisition

ACQ = first_acquisition(date(2024, 7, 1))
# about 1550 x 1330 px at 10 m: a COG with overviews, several hundred KB
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
    assert size > 500_000, size  # (uniform fields compress well)

    # the size from a HEAD (not logged as served): without it GDAL opens with a GET of the whole
    # file that it aborts after the headers, which a loaded host may still have sent in full
    options = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_HTTP_MAX_RETRY": "0",
               "VSI_CACHE": "FALSE", "CPL_VSIL_CURL_USE_HEAD": "YES",
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


SMALL = {"west": 14.00, "south": 46.00, "east": 14.02, "north": 46.015}


def _file_bands(path) -> tuple[tuple, list[dict], np.ndarray]:
    with rasterio.open(path) as ds:
        return ds.descriptions, [ds.tags(i) for i in ds.indexes], ds.read()


def _assert_statistics_of(tags: dict, pixels: np.ndarray) -> None:
    valid = pixels[np.isfinite(pixels)].astype(np.float64)
    assert valid.size > 0
    assert float(tags["STATISTICS_MINIMUM"]) == valid.min() and float(tags["STATISTICS_MAXIMUM"]) == valid.max()
    assert float(tags["STATISTICS_MEAN"]) == pytest.approx(valid.mean(), rel=1e-9)
    assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(valid.std(), rel=1e-9)


@pytest.mark.parametrize("ndvi", [True, False])
def test_a_sync_geotiff_carries_statistics_and_band_labels(stack, connection, tmp_path, ndvi):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=SMALL, temporal_extent=day_interval(ACQ),
                                      bands=["B04", "B08"])
    if ndvi:
        cube = cube.ndvi(nir="B08", red="B04")
    path = tmp_path / "sync.tif"
    cube.save_result("GTiff").download(path)
    names, tags, pixels = _file_bands(path)
    assert names == (("ndvi",) if ndvi else ("B04", "B08"))
    for i, band_tags in enumerate(tags):
        _assert_statistics_of(band_tags, pixels[i])


def test_batch_stac_band_statistics_and_names_agree_with_the_file(stack, connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=SMALL, temporal_extent=day_interval(ACQ),
                                      bands=["B04", "B08"])
    job = cube.ndvi(nir="B08", red="B04").save_result("GTiff").create_job(title="self-describing")
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    assets = job.get_results().get_metadata()["assets"]
    assert len(assets) == 1  # the executor's own job-results.json is not listed
    (name, asset), = assets.items()
    path = tmp_path / name
    path.write_bytes(requests.get(asset["href"], timeout=60).content)
    names, tags, pixels = _file_bands(path)
    assert names == ("ndvi",)
    assert [band["name"] for band in asset["eo:bands"]] == ["ndvi"]
    (raster_band,) = asset["raster:bands"]
    stats = raster_band["statistics"]
    _assert_statistics_of(tags[0], pixels[0])
    for key, gdal_key in (("minimum", "MINIMUM"), ("maximum", "MAXIMUM"), ("mean", "MEAN"), ("stddev", "STDDEV"),
                          ("valid_percent", "VALID_PERCENT")):
        assert stats[key] == float(tags[0][f"STATISTICS_{gdal_key}"]), key
    assert asset["proj:shape"] == list(pixels.shape[1:])


def test_range_edge_cases_against_s3(stack, connection):
    """The same answers as the gateway tests' fakes give, from the real executor and SeaweedFS."""
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=SMALL, temporal_extent=day_interval(ACQ),
                                      bands=["B04", "B08"])
    job = cube.save_result("GTiff").create_job(title="ranges edge cases")
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    (asset,) = job.get_results().get_metadata()["assets"].values()
    href = asset["href"]
    whole = requests.get(href, timeout=30)
    data, size = whole.content, len(whole.content)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes" and size == asset["file:size"]
    etag, modified = whole.headers["ETag"], whole.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith(" GMT")

    head = requests.head(href, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == size and head.headers["ETag"] == etag
    for header, first, last in [("bytes=-500", size - 500, size - 1), ("bytes=100-", 100, size - 1),
                                ("bytes=0-0", 0, 0), (f"bytes=10-{size * 2}", 10, size - 1),
                                ("bytes=0-9,20-29", 0, 29)]:
        part = requests.get(href, headers={"Range": header}, timeout=30)
        assert part.status_code == 206, header
        assert part.headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert part.content == data[first : last + 1], header
    refused = requests.get(href, headers={"Range": f"bytes={size}-"}, timeout=30)
    assert refused.status_code == 416 and refused.headers["Content-Range"] == f"bytes */{size}"
    assert requests.get(href, headers={"Range": "bytes=9-1"}, timeout=30).content == data  # invalid: ignored
    assert requests.get(href, headers={"If-None-Match": etag}, timeout=30).status_code == 304
    assert requests.get(href, headers={"If-Modified-Since": modified}, timeout=30).status_code == 304
    stale = requests.get(href, headers={"Range": "bytes=0-9", "If-Range": '"not-the-file"'}, timeout=30)
    assert stale.status_code == 200 and stale.content == data
    fresh = requests.get(href, headers={"Range": "bytes=0-9", "If-Range": etag}, timeout=30)
    assert fresh.status_code == 206 and fresh.content == data[:10]
