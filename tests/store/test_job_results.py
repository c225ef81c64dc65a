"""Job results in MongoDB: the typed sub-document, and documents of older deployments that still
hold the `results_json` string (converted when read, hidden by the next run)."""

from __future__ import annotations

import json
import math

from motor.motor_asyncio import AsyncIOMotorClient

from backend_proto.v1 import store_pb2
from store_svc import job_results
from tests.store.conftest import user

LEGACY = {
    "assets": {
        "openEO_2024-05-03.tif": {
            "key": "jobs/j-1/openEO_2024-05-03.tif",
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            "title": "openEO_2024-05-03.tif",
            "size": 3000,
            "datetime": "2024-05-03T10:00:00Z",
            "proj:epsg": 32633, "proj:shape": [48, 64],
            "proj:bbox": [500000.0, 5199520.0, 500640.0, 5200000.0],
            "proj:transform": [10.0, 0.0, 500000.0, 0.0, -10.0, 5200000.0],
            "raster:bands": [{"name": "B04", "data_type": "float32", "nodata": "nan",
                              "statistics": {"minimum": 0.1, "maximum": 0.9, "mean": 0.5, "valid_percent": 99.5}}],
            "eo:bands": [{"name": "B04", "common_name": "red", "center_wavelength": 0.665}],
        },
        "job-results.json": {"key": "jobs/j-1/job-results.json", "type": "application/json",
                             "roles": ["metadata"], "title": "STAC metadata of the job results", "size": 812},
    },
    "bbox": [14.9, 46.9, 15.1, 47.0],
    "geometry": {"type": "Point", "coordinates": [15.0, 46.95]},
    "start_datetime": "2024-05-03T10:00:00Z",
    "end_datetime": "2024-05-13T10:00:00Z",
    "properties": {"ignored": True},
}


def test_old_results_json_becomes_the_typed_results():
    results = job_results.from_document({"results_json": json.dumps(LEGACY)})
    tif, record = results.assets
    assert (tif.name, tif.key, tif.media_type, list(tif.roles), tif.size, tif.datetime) == (
        "openEO_2024-05-03.tif", "jobs/j-1/openEO_2024-05-03.tif", "image/tiff; application=geotiff", ["data"],
        3000, "2024-05-03T10:00:00Z")
    assert tif.projection.epsg == 32633 and list(tif.projection.shape) == [48, 64]
    assert list(tif.projection.bbox) == [500000.0, 5199520.0, 500640.0, 5200000.0]
    assert list(tif.projection.transform) == [10.0, 0.0, 500000.0, 0.0, -10.0, 5200000.0]
    (band,) = tif.bands
    assert (band.name, band.common_name, band.center_wavelength, band.data_type) == ("B04", "red", 0.665, "float32")
    assert math.isnan(band.nodata)
    assert (band.statistics.minimum, band.statistics.maximum, band.statistics.mean) == (0.1, 0.9, 0.5)
    assert band.statistics.valid_percent == 99.5 and not band.statistics.HasField("stddev")
    assert (record.name, list(record.roles), record.size) == ("job-results.json", ["metadata"], 812)
    assert not record.HasField("projection") and not record.bands
    assert list(results.bbox) == [14.9, 46.9, 15.1, 47.0]
    assert json.loads(results.geometry_json) == {"type": "Point", "coordinates": [15.0, 46.95]}
    assert (results.datetime, results.start_datetime, results.end_datetime) == (
        "", "2024-05-03T10:00:00Z", "2024-05-13T10:00:00Z")


def test_broken_or_odd_old_documents_keep_what_fits():
    assert job_results.from_document({"results_json": ""}) is None
    assert job_results.from_document({}) is None
    assert job_results.from_document({"results_json": "{broken"}) == store_pb2.JobResults()
    assert job_results.from_document({"results_json": "[1, 2]"}) == store_pb2.JobResults()
    odd = {"assets": {"a": {"key": 5, "size": "big", "proj:epsg": "32633", "proj:bbox": [1, "x"],
                            "raster:bands": [{"name": "b", "nodata": 0}], "roles": "data"},
                      "b": "not an object"},
           "bbox": [1, 2, 3], "geometry": "nope", "datetime": 7}
    results = job_results.from_document({"results_json": json.dumps(odd)})
    (asset,) = results.assets
    assert (asset.name, asset.key, asset.size, list(asset.roles)) == ("a", "", 0, [])
    assert asset.projection.epsg == 0 and not asset.projection.bbox
    assert asset.bands[0].name == "b" and asset.bands[0].nodata == 0
    assert not results.bbox and results.geometry_json == "" and results.datetime == ""


def test_typed_results_win_over_an_old_string():
    typed = store_pb2.JobResults(bbox=[1, 2, 3, 4])
    doc = {"results": job_results.to_document(typed), "results_json": json.dumps(LEGACY)}
    assert job_results.from_document(doc) == typed
    assert job_results.from_document({"results": None, "results_json": json.dumps(LEGACY)}) is None


async def test_the_store_serves_jobs_written_by_older_deployments(store):
    alice = user()
    job = await store.create_job(alice)
    mongo = AsyncIOMotorClient(store.config.mongodb_uri)
    try:
        jobs = mongo[store.config.mongodb_db]["jobs"]
        # how an older deployment left a finished job
        await jobs.update_one({"_id": job.id}, {"$unset": {"results": ""},
                                                "$set": {"status": "finished", "results_json": json.dumps(LEGACY)}})
        read = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
        assert read.results.SerializeToString(deterministic=True) == job_results.from_results_json(
            json.dumps(LEGACY)).SerializeToString(deterministic=True)
        assert [a.name for a in read.results.assets] == ["openEO_2024-05-03.tif", "job-results.json"]
        # running it again starts from no results; the old string is not read any more
        requeued = await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=job.id))
        assert requeued.status == "queued" and not requeued.HasField("results")
        listed = await store.stub.ListJobs(store_pb2.ListRequest(user=alice))
        assert [j.HasField("results") for j in listed.jobs] == [False]
    finally:
        mongo.close()
