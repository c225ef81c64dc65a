"""load_result end to end: a finished NDVI batch job loaded back in a synchronous /result
(x * 2), by job id and by its signed canonical URL; another user's job and an unfinished job."""

from __future__ import annotations

from datetime import date

import numpy as np
import openeo
import pytest
from openeo.rest import OpenEoApiError

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.e2e.worldcheck import day_interval, first_acquisition, read_raster

BBOX = {"west": 14.00, "south": 46.00, "east": 14.02, "north": 46.015}
ACQ = first_acquisition(date(2024, 7, 1))


def ndvi_cube(connection):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04", "B08"])
    return cube.ndvi(nir="B08", red="B04").save_result("GTiff")


@pytest.fixture(scope="module")
def finished_job(stack, tmp_path_factory):
    """(job, path of its GeoTIFF result, canonical signed URL) of a finished NDVI batch job."""
    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    job = ndvi_cube(con).create_job(title="ndvi for load_result")
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    assert job.status() == "finished"
    results = job.get_results()
    files = results.download_files(tmp_path_factory.mktemp("batch"))
    (tif,) = [f for f in files if str(f).endswith(".tif")]
    canonical = next(link["href"] for link in results.get_metadata()["links"] if link["rel"] == "canonical")
    return job, tif, canonical


def assert_twice(original_path, doubled_path):
    original, meta = read_raster(original_path)
    doubled, meta2 = read_raster(doubled_path)
    assert doubled.shape == original.shape and original.size > 100
    # the same grid (pixel-centre coordinates round-trip up to float rounding)
    assert meta2["crs"] == meta["crs"] and meta2["transform"].almost_equals(meta["transform"], precision=1e-12)
    assert np.isfinite(original).mean() > 0.5
    np.testing.assert_array_equal(np.isnan(doubled), np.isnan(original))
    np.testing.assert_array_equal(doubled[np.isfinite(original)], 2 * original[np.isfinite(original)])


def test_load_result_by_job_id_times_two(connection, finished_job, tmp_path):
    job, tif, _ = finished_job
    out = tmp_path / "twice.tif"
    connection.load_result(job.job_id).apply(lambda x: x * 2).download(out, format="GTiff")
    assert_twice(tif, out)


def test_load_result_by_signed_results_url_with_filters(connection, finished_job, tmp_path):
    job, tif, canonical = finished_job
    out = tmp_path / "twice.tif"
    cube = connection.load_result(canonical, temporal_extent=[ACQ.strftime("%Y-%m-%d"), None])
    cube.apply(lambda x: x * 2).download(out, format="GTiff")
    assert_twice(tif, out)
    with pytest.raises(OpenEoApiError) as info:  # a temporal extent without any result date
        connection.load_result(job.job_id, temporal_extent=["2001-01-01", "2001-02-01"]).download(tmp_path / "none.tif", format="GTiff")
    assert info.value.code == "NoDataAvailable"


def test_another_users_job_is_not_found(second_connection, finished_job, tmp_path):
    job, _, _ = finished_job
    with pytest.raises(OpenEoApiError) as info:
        second_connection.load_result(job.job_id).download(tmp_path / "x.tif", format="GTiff")
    assert (info.value.http_status_code, info.value.code) == (404, "JobNotFound")


def test_unfinished_job_is_refused(connection, tmp_path):
    created = ndvi_cube(connection).create_job(title="never started")
    assert created.status() == "created"
    with pytest.raises(OpenEoApiError) as info:
        connection.load_result(created.job_id).download(tmp_path / "x.tif", format="GTiff")
    assert (info.value.http_status_code, info.value.code) == (400, "JobNotFinished")


def test_load_stac_of_the_signed_results_url(connection, finished_job, tmp_path):
    """The openeo client's way of chaining jobs: load_stac with the results' canonical URL."""
    job, tif, canonical = finished_job
    out = tmp_path / "twice.tif"
    connection.load_stac(canonical).apply(lambda x: x * 2).download(out, format="GTiff")
    assert_twice(tif, out)
    from_job = tmp_path / "from_job.tif"
    connection.load_stac_from_job(job.job_id).apply(lambda x: x * 2).download(from_job, format="GTiff")
    assert_twice(tif, from_job)
    with pytest.raises(OpenEoApiError) as info:  # not this back-end's results
        connection.load_stac("https://elsewhere.example/stac/collections/x").download(tmp_path / "x.tif", format="GTiff")
    assert (info.value.http_status_code, info.value.code) == (400, "ProcessParameterInvalid")
