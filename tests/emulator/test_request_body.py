"""The shared body reader of the Process, Statistical and batch APIs: JSON or multipart `request` + `evalscript`."""
from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sentinelhub_emulator.errors import SHError
from sentinelhub_emulator.request_body import read_body


@pytest.fixture
async def client():
    async def echo(request: web.Request) -> web.Response:
        types = ("application/json", "") if request.query.get("strict") else None
        try:
            body, script = await read_body(request, json_types=types)
        except SHError as exc:
            return exc.response()
        return web.json_response({"body": body, "script": script})

    app = web.Application()
    app.router.add_post("/", echo)
    c = TestClient(TestServer(app))
    await c.start_server()
    yield c
    await c.close()


def form(**parts) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, text in parts.items():
        data.add_field(name, text, content_type="text/plain")
    return data


async def test_json_body_has_no_script(client):
    resp = await client.post("/", json=[1, {"a": 2}])
    assert await resp.json() == {"body": [1, {"a": 2}], "script": None}


async def test_multipart_request_and_evalscript_parts(client):
    resp = await client.post("/", data=form(request=json.dumps({"input": {"x": 1}}), evalscript="//VERSION=3\n"))
    assert await resp.json() == {"body": {"input": {"x": 1}}, "script": "//VERSION=3\n"}
    resp = await client.post("/", data=form(request="{}", other="ignored"))
    assert await resp.json() == {"body": {}, "script": None}


@pytest.mark.parametrize("parts,message", [
    ({"evalscript": "//VERSION=3"}, "needs a 'request' part"),
    ({"request": "[1, 2]", "evalscript": "//VERSION=3"}, "needs a 'request' part with a JSON object"),
    ({"request": "{not json"}, "'request' part is not valid JSON"),
])
async def test_bad_multipart_is_400(client, parts, message):
    resp = await client.post("/", data=form(**parts))
    err = (await resp.json())["error"]
    assert resp.status == 400 and err["code"] == "COMMON_BAD_PAYLOAD" and message in err["message"]


async def test_bad_json_is_400_and_content_types_are_checked_only_when_given(client):
    resp = await client.post("/", data=b"{nope", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and "not valid JSON" in (await resp.json())["error"]["message"]
    xml = {"Content-Type": "application/xml"}
    assert (await (await client.post("/", data=b'{"a": 1}', headers=xml)).json())["body"] == {"a": 1}
    resp = await client.post("/?strict=1", data=b'{"a": 1}', headers=xml)
    assert resp.status == 415 and (await resp.json())["error"]["code"] == "COMMON_UNSUPPORTED_MEDIA_TYPE"
