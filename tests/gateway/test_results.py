"""Batch job results: STAC item, signed asset URLs, partial results, failed jobs."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from backend_proto.v1 import store_pb2
from tests.gateway.conftest import PROCESS

RESULTS = store_pb2.JobResults(
    assets=[store_pb2.ResultAsset(
        name="result.tif",
        key="jobs/secret-bucket-path/result.tif",
        media_type="image/tiff; application=geotiff",
        roles=["data"],
        title="NDVI",
        size=3000,
        projection=store_pb2.Projection(epsg=32633, shape=[20, 40]),
        bands=[store_pb2.Band(name="NDVI", data_type="float32", nodata=float("nan"))],
    )],
    bbox=[16.1, 48.1, 16.5, 48.3],
    start_datetime="2024-06-01T00:00:00Z",
    end_datetime="2024-06-30T00:00:00Z",
)


async def finished_job(client, auth, fakes, status="finished") -> str:
    resp = await client.post("/jobs", json={"process": PROCESS, "title": "t"}, headers=auth)
    job_id = resp.headers["OpenEO-Identifier"]
    job = fakes.store.jobs[job_id]
    job.status = status
    job.results.CopyFrom(RESULTS)
    fakes.executor.assets[(job_id, "result.tif")] = b"II*\x00" + bytes(range(256)) * 11 + b"end"
    return job_id


def local(href: str, settings) -> str:
    assert href.startswith(settings.public_url)
    return href[len(settings.public_url):]


async def test_results_stac_item(client, auth, fakes, settings):
    job_id = await finished_job(client, auth, fakes)
    resp = await client.get(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 200
    assert resp.headers["OpenEO-Costs"] == "0"
    item = await resp.json()
    assert item["type"] == "Feature" and item["stac_version"] == "1.1.0" and item["id"] == job_id
    assert item["bbox"] == [16.1, 48.1, 16.5, 48.3]
    assert item["geometry"]["type"] == "Polygon"
    props = item["properties"]
    assert props["datetime"] is None
    assert props["start_datetime"] == "2024-06-01T00:00:00Z" and props["end_datetime"] == "2024-06-30T00:00:00Z"
    assert props["expires"].endswith("Z")
    assert "openeo:status" not in props
    asset = item["assets"]["result.tif"]
    assert asset["type"] == "image/tiff; application=geotiff" and asset["roles"] == ["data"]
    assert asset["title"] == "NDVI" and asset["file:size"] == 3000
    assert asset["proj:code"] == "EPSG:32633" and asset["proj:shape"] == [20, 40]
    assert asset["raster:bands"] == [{"name": "NDVI", "data_type": "float32", "nodata": "nan"}]
    assert asset["eo:bands"] == [{"name": "NDVI"}]
    assert "key" not in asset and "secret-bucket-path" not in json.dumps(item)
    query = parse_qs(urlsplit(asset["href"]).query)
    assert set(query) == {"expires", "user", "signature"}
    assert "alice" not in asset["href"] and "basic" not in asset["href"]
    rels = {link["rel"]: link for link in item["links"]}
    assert "canonical" in rels
    assert rels["self"]["href"].endswith(f"/jobs/{job_id}/results") and rels["job"]["href"].endswith(f"/jobs/{job_id}")
    assert sorted(ext.split("/")[3] for ext in item["stac_extensions"]) == ["eo", "file", "projection", "raster"]


async def test_results_without_dates_are_dated_by_their_production(client, auth, fakes):
    job_id = await finished_job(client, auth, fakes)
    job = fakes.store.jobs[job_id]
    job.results.ClearField("start_datetime")
    job.results.ClearField("end_datetime")
    job.results.ClearField("bbox")
    item = await (await client.get(f"/jobs/{job_id}/results", headers=auth)).json()
    assert item["properties"]["datetime"] == (job.updated or job.created)
    assert "start_datetime" not in item["properties"]
    assert item["geometry"] is None and "bbox" not in item


async def test_results_validate_against_spec(client, auth, fakes):
    import jsonschema

    from tests.gateway.test_discovery import load_openapi, to_jsonschema

    openapi = load_openapi()
    job_id = await finished_job(client, auth, fakes)
    item = await (await client.get(f"/jobs/{job_id}/results", headers=auth)).json()
    schema = to_jsonschema(openapi, openapi["components"]["schemas"]["batch_job_result"])
    jsonschema.validate(item, schema)


async def test_signed_asset_download_without_auth(client, auth, fakes, settings):
    job_id = await finished_job(client, auth, fakes)
    item = await (await client.get(f"/jobs/{job_id}/results", headers=auth)).json()
    href = item["assets"]["result.tif"]["href"]
    resp = await client.get(local(href, settings))  # no Authorization header
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/tiff; application=geotiff"
    assert await resp.read() == fakes.executor.assets[(job_id, "result.tif")]
    _, ref = [c for c in fakes.executor.calls if c[0] == "ReadJobAsset"][-1]
    assert ref.user.user_id == "basic~user-1" and ref.job_id == job_id and ref.asset == "result.tif"
    canonical = [link["href"] for link in item["links"] if link["rel"] == "canonical"][0]
    again = await client.get(local(canonical, settings))
    assert again.status == 200
    assert (await again.json())["assets"]["result.tif"]["href"].startswith(settings.public_url)


async def test_tampered_or_foreign_signature_refused(client, auth, fakes, settings):
    job_id = await finished_job(client, auth, fakes)
    item = await (await client.get(f"/jobs/{job_id}/results", headers=auth)).json()
    href = local(item["assets"]["result.tif"]["href"], settings)
    path, _, query = href.partition("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    cases = [
        {**params, "signature": "0" * 64},
        {**params, "expires": str(int(params["expires"]) + 1000)},
        {k: v for k, v in params.items() if k != "signature"},
    ]
    for bad in cases:
        resp = await client.get(f"{path}?{urlencode(bad)}")
        assert resp.status == 403, bad
        assert (await resp.json())["code"] == "CredentialsInvalid"
    other_asset = path.replace("result.tif", "other.tif")
    assert (await client.get(f"{other_asset}?{query}")).status == 403
    other_job = path.replace(job_id, "j-999")
    assert (await client.get(f"{other_job}?{query}")).status == 403
    assert not [c for c in fakes.executor.calls if c[0] == "ReadJobAsset"]


async def test_expired_signature_is_410(client, auth, fakes, settings):
    job_id = await finished_job(client, auth, fakes)
    signer = client.server.app[__import__("gateway.keys", fromlist=["SIGNER"]).SIGNER]
    query = signer.query(job_id, "result.tif", "basic~user-1", int(time.time()) - 5)
    resp = await client.get(f"/jobs/{job_id}/results/assets/result.tif?{urlencode(query)}")
    assert resp.status == 410
    assert (await resp.json())["code"] == "ResultLinkExpired"


async def test_not_finished_and_partial(client, auth, fakes):
    job_id = await finished_job(client, auth, fakes, status="running")
    resp = await client.get(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 400 and (await resp.json())["code"] == "JobNotFinished"
    partial = await client.get(f"/jobs/{job_id}/results?partial=true", headers=auth)
    assert partial.status == 200
    assert (await partial.json())["properties"]["openeo:status"] == "running"


async def test_failed_job_is_424(client, auth, fakes):
    job_id = await finished_job(client, auth, fakes, status="error")
    fakes.store.jobs[job_id].error_json = json.dumps({"code": "ProcessParameterInvalid", "message": "bad band"})
    resp = await client.get(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 424
    body = await resp.json()
    assert body["code"] == "ProcessParameterInvalid" and body["message"] == "bad band" and body["level"] == "error"


async def test_results_of_unknown_job(client, auth):
    resp = await client.get("/jobs/j-404/results", headers=auth)
    assert resp.status == 404 and (await resp.json())["code"] == "JobNotFound"


async def test_asset_names_are_url_encoded(client, auth, fakes, settings):
    job_id = await finished_job(client, auth, fakes)
    fakes.store.jobs[job_id].results.assets.add(name="my result #1.tif", media_type="image/tiff", roles=["data"])
    fakes.executor.assets[(job_id, "my result #1.tif")] = b"x" * 20
    item = await (await client.get(f"/jobs/{job_id}/results", headers=auth)).json()
    href = item["assets"]["my result #1.tif"]["href"]
    assert " " not in href and "%23" in href
    resp = await client.get(local(href, settings))
    assert resp.status == 200 and await resp.read() == b"x" * 20


async def test_the_executors_own_results_record_is_not_a_user_asset(client, auth, fakes, settings):
    job_id = await finished_job(client, auth, fakes)
    assets = fakes.store.jobs[job_id].results.assets
    assets.add(name="job-results.json", key=f"jobs/{job_id}/job-results.json", media_type="application/json",
               roles=["metadata"], size=10)
    assets.add(name="notes.json", key=f"jobs/{job_id}/notes.json", media_type="application/json",
               roles=["data", "metadata"])
    resp = await client.get(f"/jobs/{job_id}/results", headers=auth)
    assert resp.status == 200
    item = await resp.json()
    assert sorted(item["assets"]) == ["notes.json", "result.tif"]
    assert "jobs/" not in json.dumps(item["assets"]).replace(f"/jobs/{job_id}/results/assets/", "")


async def signed_asset_path(client, auth, fakes, settings) -> tuple[str, bytes]:
    job_id = await finished_job(client, auth, fakes)
    item = await (await client.get(f"/jobs/{job_id}/results", headers=auth)).json()
    return local(item["assets"]["result.tif"]["href"], settings), fakes.executor.assets[(job_id, "result.tif")]


async def test_range_requests_on_signed_urls(client, auth, fakes, settings):
    path, data = await signed_asset_path(client, auth, fakes, settings)
    size = len(data)
    whole = await client.get(path)
    assert whole.status == 200 and await whole.read() == data
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["Content-Length"] == str(size)
    assert whole.headers["ETag"] == '"v1-abc"' and whole.headers["Last-Modified"] == "Mon, 01 Jul 2024 12:30:00 GMT"
    for header, first, last in [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-500", size - 500, size - 1),
        ("bytes=-100000", 0, size - 1),          # suffix longer than the file
        ("bytes=2800-999999", 2800, size - 1),   # last past the end
        ("bytes=5-5", 5, 5),
    ]:
        fakes.executor.bytes_read = 0
        resp = await client.get(path, headers={"Range": header})  # no Authorization: the signature does
        assert resp.status == 206, header
        assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert resp.headers["Content-Length"] == str(last - first + 1)
        assert resp.headers["ETag"] == '"v1-abc"' and resp.headers["Accept-Ranges"] == "bytes"
        assert await resp.read() == data[first : last + 1], header
        assert fakes.executor.bytes_read == last - first + 1  # only the range was read
    _, ref = [c for c in fakes.executor.calls if c[0] == "ReadJobAsset"][-1]
    assert (ref.offset, ref.length, ref.suffix_length, ref.metadata_only) == (5, 1, 0, False)


async def test_unsatisfiable_and_ignored_ranges(client, auth, fakes, settings):
    path, data = await signed_asset_path(client, auth, fakes, settings)
    size = len(data)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0", f"bytes={size}-,{size + 1}-"):
        resp = await client.get(path, headers={"Range": header})
        assert resp.status == 416, header
        assert resp.headers["Content-Range"] == f"bytes */{size}"
        assert (await resp.json())["code"] == "RangeNotSatisfiable"
    for header in ("bytes=5-3", "bytes=abc", "pages=1-2", "bytes="):  # invalid: the whole file
        resp = await client.get(path, headers={"Range": header})
        assert resp.status == 200 and await resp.read() == data, header
        assert "Content-Range" not in resp.headers


async def test_several_ranges_are_answered_as_one_covering_range(client, auth, fakes, settings):
    path, data = await signed_asset_path(client, auth, fakes, settings)
    size = len(data)
    resp = await client.get(path, headers={"Range": "bytes=10-19, 100-109"})
    assert resp.status == 206 and resp.headers["Content-Range"] == f"bytes 10-109/{size}"
    assert resp.content_type == "image/tiff"  # one part, no multipart/byteranges
    assert await resp.read() == data[10:110]
    resp = await client.get(path, headers={"Range": f"bytes=0-3,-3,{size + 5}-"})
    assert resp.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}" and await resp.read() == data


async def test_head_and_conditional_requests(client, auth, fakes, settings):
    path, data = await signed_asset_path(client, auth, fakes, settings)
    size = len(data)
    fakes.executor.bytes_read = 0
    head = await client.head(path)
    assert head.status == 200 and head.headers["Content-Length"] == str(size)
    assert head.headers["Accept-Ranges"] == "bytes" and head.headers["ETag"] == '"v1-abc"'
    assert await head.read() == b""
    head = await client.head(path, headers={"Range": "bytes=-10"})
    assert head.status == 206 and head.headers["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    assert head.headers["Content-Length"] == "10"
    assert fakes.executor.bytes_read == 0  # HEAD reads no bytes

    for headers in ({"If-None-Match": '"v1-abc"'}, {"If-None-Match": 'W/"v1-abc", "other"'},
                    {"If-Modified-Since": "Mon, 01 Jul 2024 12:30:00 GMT"}, {"If-None-Match": "*"}):
        resp = await client.get(path, headers=headers)
        assert resp.status == 304, headers
        assert resp.headers["ETag"] == '"v1-abc"' and await resp.read() == b""
    assert fakes.executor.bytes_read == 0
    for headers in ({"If-None-Match": '"v0"'}, {"If-Modified-Since": "Sun, 30 Jun 2024 00:00:00 GMT"},
                    {"If-None-Match": '"v0"', "If-Modified-Since": "Mon, 01 Jul 2024 12:30:00 GMT"}):
        resp = await client.get(path, headers=headers)
        assert resp.status == 200 and await resp.read() == data, headers

    # If-Range: the range when the file is the one the client has, else the whole file
    for if_range in ('"v1-abc"', "Mon, 01 Jul 2024 12:30:00 GMT"):
        resp = await client.get(path, headers={"Range": "bytes=0-9", "If-Range": if_range})
        assert resp.status == 206 and await resp.read() == data[:10], if_range
    for if_range in ('"v0"', 'W/"v1-abc"', "Tue, 02 Jul 2024 12:30:00 GMT"):
        resp = await client.get(path, headers={"Range": "bytes=0-9", "If-Range": if_range})
        assert resp.status == 200 and await resp.read() == data, if_range


async def test_range_and_head_need_a_valid_signature(client, auth, fakes, settings):
    path, _ = await signed_asset_path(client, auth, fakes, settings)
    forged = path.replace("signature=", "signature=0")
    assert (await client.get(forged, headers={"Range": "bytes=0-9"})).status == 403
    assert (await client.head(forged)).status == 403
    fakes.executor.calls.clear()
    job_id = path.split("/")[2]
    signer = client.server.app[__import__("gateway.keys", fromlist=["SIGNER"]).SIGNER]
    expired = signer.query(job_id, "result.tif", "basic~user-1", int(time.time()) - 1)
    resp = await client.get(f"/jobs/{job_id}/results/assets/result.tif?{urlencode(expired)}", headers={"Range": "bytes=0-9"})
    assert resp.status == 410
    assert not [c for c in fakes.executor.calls if c[0] == "ReadJobAsset"]


async def test_range_headers_are_exposed_to_browsers(client, auth, fakes, settings):
    path, _ = await signed_asset_path(client, auth, fakes, settings)
    resp = await client.get(path, headers={"Range": "bytes=0-9", "Origin": "https://editor.openeo.org"})
    exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Content-Range", "Accept-Ranges", "ETag"} <= exposed  # Content-Length is safelisted anyway
    preflight = await client.options(path, headers={"Origin": "https://editor.openeo.org",
                                                    "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "range"})
    assert "range" in preflight.headers["Access-Control-Allow-Headers"].lower()
