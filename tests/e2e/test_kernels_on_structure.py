"""Kernels and resampling through the whole stack on the structured world (issue 23): with sharp
field edges, roads and a river in the area, a kernel applied the wrong way round or a grid shifted
by a pixel gives visibly wrong values (the old smooth world hid that). Expected values are the
emulator's world at the result's pixel centres, shifted as the kernel says."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import requests

from sentinelhub_emulator import world
from tests.e2e.worldcheck import bands_at, pixel_lonlat, read_raster

# 1.2 km x 1.1 km of farmland with roads and a river (docs/world/zoom-14.png), at 10 m
BBOX = {"west": 6.728, "south": 48.415, "east": 6.744, "north": 48.425}
DAY = ["2024-06-20", "2024-06-21"]  # one acquisition, 3.6 % scene cloud cover
ACQ = world.acquisition_dates("sentinel-2-l2a", date(2024, 6, 20), date(2024, 6, 21))[0]


def _run(stack, connection, graph: dict, tmp_path, name: str):
    resp = requests.post(stack.gateway_url + "/result", json={"process": {"process_graph": graph}},
                         headers={"Authorization": f"Bearer {connection.auth.bearer}"}, timeout=180)
    assert resp.status_code == 200, resp.text
    path = tmp_path / f"{name}.tif"
    path.write_bytes(resp.content)
    return read_raster(path)


def _graph(then: dict | None = None) -> dict:
    graph = {"load": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "spatial_extent": BBOX, "temporal_extent": DAY, "bands": ["B04"]}}}
    last = "load"
    if then:
        graph["p"] = {**then, "arguments": {"data": {"from_node": "load"}, **then["arguments"]}}
        last = "p"
    graph["save"] = {"process_id": "save_result", "arguments": {"data": {"from_node": last}, "format": "GTiff"}, "result": True}
    return graph


@pytest.mark.parametrize("kernel, dy, dx", [
    ([[0, 0, 0], [1, 0, 0], [0, 0, 0]], 0, -1),  # the west neighbour
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], -1, 0),  # the north neighbour (kernel rows run north to south)
    ([[0, 0, 0], [0, 0, 0], [0, 0, 1]], 1, 1),  # the south-east neighbour
])
def test_apply_kernel_takes_the_neighbour_its_weight_points_at(stack, connection, tmp_path, kernel, dy, dx):
    data, meta = _run(stack, connection, _graph({"process_id": "apply_kernel", "arguments": {"kernel": kernel}}), tmp_path, "k")
    lon, lat = pixel_lonlat(meta)
    truth = bands_at(ACQ, lon, lat, "B04")["B04"]
    out = data[0]
    h, w = out.shape
    inner = (slice(1, h - 1), slice(1, w - 1))
    shifted = truth[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx]
    np.testing.assert_allclose(out[inner], shifted, atol=1e-4)
    # the structure makes orientation matter: the unshifted or mirrored picture is far off
    assert np.abs(out[inner] - truth[inner]).max() > 0.02
    mirrored = truth[1 - dy:h - 1 - dy, 1 - dx:w - 1 - dx]
    assert np.abs(out[inner] - mirrored).max() > 0.02


def test_resample_spatial_keeps_edges_in_place(stack, connection, tmp_path):
    data, meta = _run(stack, connection, _graph({"process_id": "resample_spatial", "arguments": {
        "resolution": 0.0003, "projection": 4326, "method": "near"}}), tmp_path, "r")
    assert meta["transform"].a == pytest.approx(0.0003, rel=0.02)
    lon, lat = pixel_lonlat(meta)
    out = data[0]
    truth = bands_at(ACQ, lon, lat, "B04")["B04"]
    assert np.abs(np.diff(truth, axis=1)).max() > 0.02  # there are edges to keep
    assert np.isclose(out, truth, atol=1e-4).mean() > 0.98
    # a shift by a third of a pixel would move the field edges: clearly worse
    off = bands_at(ACQ, lon + 0.0001, lat, "B04")["B04"]
    assert np.isclose(out, off, atol=1e-4).mean() < np.isclose(out, truth, atol=1e-4).mean() - 0.01
