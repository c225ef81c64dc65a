"""Issue 20 (API surface, over-strictness, tile formats) through the whole local stack."""

from __future__ import annotations

import io
from datetime import date

import mercantile
import requests
from PIL import Image

from tests.e2e.worldcheck import day_interval, first_acquisition

ACQ = first_acquisition(date(2024, 8, 1))
BBOX = {"west": 14.0, "south": 46.0, "east": 14.02, "north": 46.02}


def auth(connection) -> dict:
    return {"Authorization": f"Bearer {connection.auth.bearer}"}


def graph(temporal, fmt="PNG") -> dict:
    return {"process_graph": {
        "load": {"process_id": "load_collection", "arguments": {
            "id": "SENTINEL2_L2A", "spatial_extent": None, "temporal_extent": temporal, "bands": ["B04"]}},
        "scale": {"process_id": "apply", "arguments": {"data": {"from_node": "load"}, "process": {"process_graph": {
            "s": {"process_id": "linear_scale_range", "arguments": {
                "x": {"from_parameter": "x"}, "inputMin": 0, "inputMax": 0.25, "outputMax": 255}, "result": True}}}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "scale"}, "format": fmt},
                 "result": True}}}


def test_slashed_paths_are_served(stack, connection):
    url = stack.gateway_url
    process = {"process_graph": {**graph(day_interval(ACQ), "GTiff")["process_graph"]}}
    process["process_graph"]["load"]["arguments"]["spatial_extent"] = BBOX
    created = requests.post(url + "/jobs/", json={"process": process, "title": "slashed"}, headers=auth(connection),
                            timeout=60)
    assert created.status_code == 201, created.text
    job_id = created.headers["OpenEO-Identifier"]
    got = requests.get(url + f"//jobs/{job_id}/", headers=auth(connection), timeout=30)
    assert got.status_code == 200 and got.json()["title"] == "slashed"
    assert requests.delete(url + f"/jobs//{job_id}", headers=auth(connection), timeout=30).status_code == 204


def test_tiles_follow_the_graphs_format_are_one_image_and_the_old_url_redirects(stack, connection):
    url = stack.gateway_url
    t = mercantile.tile(14.01, 46.01, 12)
    services = []
    try:
        for temporal, fmt in [(day_interval(ACQ), "JPEG"), (["2024-06-01", "2024-08-31"], "PNG")]:
            resp = requests.post(url + "/services", json={"type": "XYZ", "process": graph(temporal, fmt)},
                                 headers=auth(connection), timeout=60)
            assert resp.status_code == 201, resp.text
            services.append(resp.headers["OpenEO-Identifier"])
        jpeg_id, several_dates_id = services
        jpeg = requests.get(url + f"/services/xyz/{jpeg_id}/tiles/{t.z}/{t.x}/{t.y}", timeout=120)
        assert jpeg.status_code == 200 and jpeg.headers["Content-Type"] == "image/jpeg", dict(jpeg.headers)
        assert Image.open(io.BytesIO(jpeg.content)).format == "JPEG"
        several = requests.get(url + f"/services/xyz/{several_dates_id}/tiles/{t.z}/{t.x}/{t.y}", timeout=120)
        assert several.status_code == 200 and several.headers["Content-Type"] == "image/png", dict(several.headers)
        assert Image.open(io.BytesIO(several.content)).size == (256, 256)
        old = requests.get(url + f"/service/xyz/{jpeg_id}/{t.z}/{t.x}/{t.y}", timeout=120, allow_redirects=False)
        assert old.status_code == 308
        followed = requests.get(url + f"/service/xyz/{jpeg_id}/{t.z}/{t.x}/{t.y}", timeout=120)
        assert followed.status_code == 200 and followed.content == jpeg.content
    finally:
        for service_id in services:
            requests.delete(url + f"/services/{service_id}", headers=auth(connection), timeout=30)


def test_drafts_are_stored_and_validation_has_no_sync_limit(stack, connection):
    url = stack.gateway_url
    draft = {"parameters": [{"name": "data", "description": "a cube", "schema": {}}], "process_graph": {
        "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "data"}, "y": {"from_parameter": "k"}},
              "result": True}}}
    put = requests.put(url + "/process_graphs/e2e_draft", json=draft, headers=auth(connection), timeout=30)
    assert put.status_code == 200, put.text
    try:
        errors = requests.post(url + "/validation", json=draft, headers=auth(connection), timeout=30).json()["errors"]
        assert any("'k'" in e["message"] for e in errors), errors
    finally:
        requests.delete(url + "/process_graphs/e2e_draft", headers=auth(connection), timeout=30)
    large = graph(["2024-01-01", "2024-12-31"], "GTiff")
    large["process_graph"]["load"]["arguments"]["spatial_extent"] = {
        "west": 14.0, "south": 46.0, "east": 15.0, "north": 46.7}
    answer = requests.post(url + "/validation", json=large, headers=auth(connection), timeout=60).json()
    assert answer == {"errors": []}
    refused = requests.post(url + "/result", json={"process": large}, headers=auth(connection), timeout=60)
    assert refused.status_code == 400 and refused.json()["code"] == "ProcessGraphComplexity"
