"""Issue 18 'done when' (Statistical API part): an aggregate_spatial sync request and a batch job
ask Sentinel Hub's Statistical API (emulator counters: statistics requests, no Process API
request) and equal the raster path. The raster path is the same computation with a reducer the
compiler does not hand to the Statistical API (`mean` times 1), which it plans as a Process API
load and the executor's aggregate_spatial."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from tests.e2e.emulator_stats import reset_when_idle, stats
from tests.e2e.worldcheck import first_acquisition

from datetime import date

ACQ = first_acquisition(date(2024, 7, 1))
MONTH = [ACQ.date().isoformat(), (ACQ.date() + timedelta(days=20)).isoformat()]
FIELDS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "north"}, "geometry": {"type": "Polygon", "coordinates": [[
        [14.00313, 46.00421], [14.00871, 46.00437], [14.00702, 46.00931], [14.00313, 46.00421]]]}},
    {"type": "Feature", "properties": {"name": "east"}, "geometry": {"type": "Polygon", "coordinates": [[
        [14.01141, 46.00663], [14.01813, 46.00663], [14.01813, 46.01337], [14.01141, 46.01337], [14.01141, 46.00663]]]}},
]}


def graph(times_one: bool, fmt: str = "JSON", geometries: dict = FIELDS) -> dict:
    """NDVI over a month, its mean per field and date; `times_one` multiplies the mean by 1 in the
    reducer (same numbers, but not a reducer the Statistical API computes)."""
    reducer = {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}, "result": not times_one}}
    if times_one:
        reducer["r"] = {"process_id": "multiply", "arguments": {"x": {"from_node": "m"}, "y": 1}, "result": True}
    return {"process_graph": {
        "l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": None,
                                                             "temporal_extent": MONTH, "bands": ["B04", "B08"]}},
        "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}, "nir": "B08", "red": "B04"}},
        "a": {"process_id": "aggregate_spatial", "arguments": {"data": {"from_node": "n"}, "geometries": geometries,
                                                               "reducer": {"process_graph": reducer}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "a"}, "format": fmt}, "result": True}}}


def calls(stack) -> dict:
    requests = stats(stack)["requests"]
    return {"statistics": requests.get("statistics", 0), "process": requests.get("process", 0),
            "batch": requests.get("batch_statistics_create", 0)}


def series(doc: dict) -> tuple[list[str], np.ndarray]:
    """(dates, values [date, geometry]) of the time-series JSON."""
    dates = sorted(doc)
    return dates, np.array([[np.nan if v[0] is None else v[0] for v in doc[d]] for d in dates], dtype=float)


def assert_same_series(got: dict, want: dict):
    got_dates, got_values = series(got)
    want_dates, want_values = series(want)
    assert got_dates == want_dates and len(got_dates) >= 3
    assert np.isfinite(want_values).all()
    # both reduce the same float32 pixels; the raster path sums in float32, the emulator in float64
    np.testing.assert_allclose(got_values, want_values, rtol=1e-5)


def test_sync_aggregate_spatial_uses_the_statistical_api_and_equals_the_raster_path(stack, connection):
    reset_when_idle(stack)
    got = connection.execute(graph(times_one=False))
    used = calls(stack)
    assert used["statistics"] == 2 and used["process"] == 0, used  # one request per field, no raster

    reset_when_idle(stack)
    want = connection.execute(graph(times_one=True))
    used = calls(stack)
    assert used["statistics"] == 0 and used["process"] >= 1, used
    assert_same_series(got, want)


def test_aggregate_spatial_job_uses_the_statistical_api(stack, connection, tmp_path):
    reset_when_idle(stack)
    job = connection.create_job(graph(times_one=False), title="statistics job")
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    used = calls(stack)
    assert used["statistics"] == 2 and used["process"] == 0, used
    files = job.get_results().download_files(tmp_path / "job")
    docs = [json.loads(f.read_text()) for f in files if f.suffix == ".json" and f.name != "job-results.json"]
    assert len(docs) == 1, files
    want = connection.execute(graph(times_one=True))
    assert_same_series(docs[0], want)


@pytest.mark.parametrize("fmt", ["CSV", "GeoJSON"])
def test_other_vector_formats_equal_the_raster_path(connection, fmt):
    got = connection.download(graph(times_one=False, fmt=fmt))
    want = connection.download(graph(times_one=True, fmt=fmt))
    if fmt == "GeoJSON":
        got_doc, want_doc = json.loads(got), json.loads(want)
        assert [f["geometry"] for f in got_doc["features"]] == [f["geometry"] for f in want_doc["features"]]
        for g, w in zip(got_doc["features"], want_doc["features"]):
            assert set(g["properties"]) == set(w["properties"])
            for key, value in w["properties"].items():
                if isinstance(value, (float, dict)):  # a value, or {band: value} of a date
                    assert g["properties"][key] == pytest.approx(value, rel=1e-5)
                else:
                    assert g["properties"][key] == value
    else:
        got_rows = [r.split(",") for r in got.decode().splitlines()]
        want_rows = [r.split(",") for r in want.decode().splitlines()]
        assert got_rows[0] == want_rows[0] and len(got_rows) == len(want_rows) > 2
        for g, w in zip(got_rows[1:], want_rows[1:]):
            for a, b in zip(g, w):
                try:
                    assert float(a) == pytest.approx(float(b), rel=1e-5)
                except ValueError:
                    assert a == b


def squares(count: int) -> dict:
    """`count` small squares side by side in the area of FIELDS."""
    features = []
    for i in range(count):
        west, south = 14.00213 + i * 0.0031, 46.00317 + (i % 2) * 0.0042
        ring = [[west, south], [west + 0.0023, south], [west + 0.0023, south + 0.0019], [west, south + 0.0019], [west, south]]
        features.append({"type": "Feature", "properties": {"n": i}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def test_job_with_many_geometries_uses_batch_statistical(stack, connection, tmp_path):
    """The stack's BATCH_STATISTICS_MIN_GEOMETRIES is 5: one Batch Statistical request, a GeoPackage
    through S3; each feature on its own grid, so the means are close to, not equal to, the raster path's."""
    reset_when_idle(stack)
    job = connection.create_job(graph(times_one=False, geometries=squares(5)), title="batch statistics job")
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    used = calls(stack)
    assert used["batch"] == 1 and used["statistics"] == 0 and used["process"] == 0, used
    assert stats(stack)["batch_statistics"]["features_processed"] == 5
    files = job.get_results().download_files(tmp_path / "job")
    docs = [json.loads(f.read_text()) for f in files if f.suffix == ".json" and f.name != "job-results.json"]
    want = connection.execute(graph(times_one=True, geometries=squares(5)))
    got_dates, got_values = series(docs[0])
    want_dates, want_values = series(want)
    assert got_dates == want_dates and got_values.shape == (len(want_dates), 5)
    np.testing.assert_allclose(got_values, want_values, rtol=0.02, atol=0.005)
    keys = stack.s3.client().list_objects_v2(Bucket=stack.s3.bucket, Prefix="statistics-batch/").get("Contents", [])
    assert keys == []  # the GeoPackage and the per-feature results are removed
