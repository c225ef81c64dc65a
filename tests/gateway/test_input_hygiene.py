"""Issue 21: bad input of any kind gets an openEO error JSON with a 4xx status, quickly; never a
stack trace, a 500 or unbounded work; stored data cannot break a listing."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from structlog.testing import capture_logs

from backend_proto.v1 import store_pb2
from tests.gateway.conftest import PROCESS
from tests.gateway.fakes import NOW
from tests.gateway.test_middleware import assert_openeo_error

JSON = {"Content-Type": "application/json"}
GRAPH_TEXT = json.dumps(PROCESS["process_graph"])


async def post_raw(client, auth, path: str, text: str, method: str = "POST"):
    return await client.request(method, path, data=text.encode(), headers={**auth, **JSON})


# ------------------------------------------------------------------ JSON bodies

@pytest.mark.parametrize("method, path, text", [
    ("PUT", "/process_graphs/emoji", '{"description": "\\ud83d", "process_graph": ' + GRAPH_TEXT + "}"),
    ("POST", "/jobs", '{"title": "\\ud83d", "process": {"process_graph": ' + GRAPH_TEXT + "}}"),
    ("POST", "/jobs", '{"process": {"process_graph": {"load\\udc00": {"process_id": "load_collection", '
                      '"arguments": {"id": "S2"}, "result": true}}}}'),
    ("POST", "/result", '{"process": {"process_graph": ' + GRAPH_TEXT + '}, "x": ["ok", "\\uDE00"]}'),
])
async def test_unpaired_surrogates_are_json_invalid_and_never_stored(client, auth, fakes, method, path, text):
    resp = await post_raw(client, auth, path, text, method)
    assert resp.status == 400
    body = await resp.json()
    assert_openeo_error(body, "JsonInvalid")
    assert "surrogate" in body["message"]
    assert not [n for n in fakes.store.names() if n in ("PutProcessGraph", "CreateJob")]
    assert "Compile" not in fakes.compiler.names() and "Validate" not in fakes.compiler.names()


async def test_a_valid_surrogate_pair_is_accepted(client, auth, fakes):
    text = '{"description": "\\ud83d\\ude00", "process_graph": ' + GRAPH_TEXT + "}"
    assert (await post_raw(client, auth, "/process_graphs/emoji", text, "PUT")).status == 200
    got = await (await client.get("/process_graphs/emoji", headers=auth)).json()
    assert got["description"] == "\U0001F600"


async def test_stored_invalid_unicode_does_not_break_listings(client, auth, fakes):
    """Data stored before the gateway refused it: listings and documents still answer 200."""
    user = "basic~user-1"
    bad = '{"description": "bad \\ud83d", "summary": "s\\udc00", "process_graph": ' + GRAPH_TEXT + "}"
    fakes.store.udps[(user, "old")] = store_pb2.ProcessGraph(id="old", user_id=user, process_json=bad, created=NOW,
                                                             updated=NOW, version=1)
    fakes.store.jobs["j-old"] = store_pb2.Job(id="j-old", user_id=user, status="created", created=NOW,
                                              process_json='{"process_graph": {"n\\ud83d": {"process_id": "x"}}}')
    listing = await client.get("/process_graphs", headers=auth)
    assert listing.status == 200
    assert (await listing.json())["processes"][0]["description"] == "bad \ufffd"
    one = await client.get("/process_graphs/old", headers=auth)
    assert one.status == 200 and (await one.json())["summary"] == "s\ufffd"
    job = await client.get("/jobs/j-old", headers=auth)
    assert job.status == 200 and list((await job.json())["process"]["process_graph"]) == ["n\ufffd"]
    fakes.store.jobs["j-nan"] = store_pb2.Job(id="j-nan", user_id=user, status="created", created=NOW,
                                              process_json='{"process_graph": {"a": {"arguments": {"x": NaN, "y": -Infinity}}}}')
    nan = await client.get("/jobs/j-nan", headers=auth)
    assert nan.status == 200
    assert json.loads(await nan.text(), parse_constant=pytest.fail)["process"]["process_graph"]["a"]["arguments"] == {
        "x": None, "y": None}
    assert (await client.delete("/process_graphs/old", headers=auth)).status == 204


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
async def test_non_finite_numbers_are_json_invalid(client, auth, fakes, literal):
    text = '{"process": {"process_graph": ' + GRAPH_TEXT + '}, "budget": ' + literal + "}"
    resp = await post_raw(client, auth, "/jobs", text)
    assert resp.status == 400
    assert_openeo_error(await resp.json(), "JsonInvalid")
    assert "CreateJob" not in fakes.store.names()


@pytest.mark.parametrize("digits", [21, 4000, 5000, 60_000])
async def test_huge_integers_are_json_invalid_quickly(client, auth, fakes, digits):
    text = '{"process": {"process_graph": ' + GRAPH_TEXT + '}, "x": ' + "9" * digits + "}"
    started = time.perf_counter()
    resp = await post_raw(client, auth, "/jobs", text)
    elapsed = time.perf_counter() - started
    assert resp.status == 400
    body = await resp.json()
    assert_openeo_error(body, "JsonInvalid")
    assert "64 bits" in body["message"] and len(body["message"]) < 200
    assert "Exceeds" not in body["message"] and "int_max_str_digits" not in body["message"]
    assert elapsed < 2.0


async def test_numbers_within_bounds_are_kept(client, auth, fakes):
    text = ('{"process": {"process_graph": ' + GRAPH_TEXT + '}, "nodata": 18446744073709551615, "small": -9223372036854775808, '
            '"f": 1.7976931348623157e308}')
    resp = await post_raw(client, auth, "/jobs", text)
    assert resp.status == 201, await resp.text()
    _, create = [c for c in fakes.store.calls if c[0] == "CreateJob"][-1]
    assert json.loads(create.job_options_json) == {"nodata": 2**64 - 1, "small": -(2**63), "f": 1.7976931348623157e308}


@pytest.mark.parametrize("field, size, ok", [("title", 1000, True), ("title", 1001, False),
                                             ("description", 100_000, True), ("description", 100_001, False)])
async def test_title_and_description_lengths(make_client, auth, fakes, field, size, ok):
    client = await make_client(max_body_bytes=1024 * 1024)
    resp = await client.post("/jobs", json={"process": PROCESS, field: "x" * size}, headers=auth)
    if ok:
        assert resp.status == 201
    else:
        assert resp.status == 400
        assert_openeo_error(await resp.json(), "ParameterInvalid")
        assert "CreateJob" not in fakes.store.names()
    service = await client.post("/services", json={"type": "xyz", "process": PROCESS, field: "x" * size}, headers=auth)
    assert (service.status == 201) == ok


async def test_udp_id_and_texts_are_bounded(client, auth, fakes):
    long_id = await client.put("/process_graphs/" + "a" * 257, json=PROCESS, headers=auth)
    assert long_id.status == 400 and (await long_id.json())["code"] == "ParameterInvalid"
    long_summary = await client.put("/process_graphs/ok", json={**PROCESS, "summary": "s" * 1001}, headers=auth)
    assert long_summary.status == 400 and (await long_summary.json())["code"] == "ParameterInvalid"
    assert "PutProcessGraph" not in fakes.store.names()


# ------------------------------------------------------------------ headers, slow and gone clients

async def raw_exchange(port: int, request: bytes, read_timeout: float = 5.0) -> bytes:
    """Sends `request` as is; returns the first response (head and Content-Length body) or, when
    the server closes without answering, b""."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()

        async def response() -> bytes:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as err:
                return err.partial
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            return head + await reader.readexactly(length)

        return await asyncio.wait_for(response(), read_timeout)
    finally:
        writer.close()


def split_response(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("size", [9 * 1024, 60 * 1024])
async def test_oversized_authorization_is_a_json_431_without_echo(client, settings, size):
    secret = ("SECRETTOKEN" * (size // 11 + 1))[:size]
    with capture_logs() as logs:
        raw = await raw_exchange(settings.port, b"GET /jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                 b"Authorization: Bearer " + secret.encode() + b"\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == 431
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)
    assert_openeo_error(error, "HeaderTooLarge")
    assert "SECRET" not in body.decode() and "Authorization" in error["message"]
    assert "SECRET" not in json.dumps(logs, default=str)


async def test_unparsable_request_head_is_logged_without_its_bytes(client, settings):
    """Above the parser's own limit aiohttp answers by itself (plain text); the log line is ours:
    one info event naming the error class, not the bytes."""
    secret = b"SECRETTOKEN" * 7000  # 77 kB, above PARSER_MAX_LINE_BYTES
    with capture_logs() as logs:
        raw = await raw_exchange(settings.port, b"GET /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + b"\r\n\r\n")
    assert split_response(raw)[0] == 400
    events = [e for e in logs if e.get("event") == "http_request_unparsable"]
    assert len(events) == 1 and events[0]["log_level"] == "info" and events[0]["error"] == "LineTooLong"
    assert "SECRET" not in json.dumps(logs, default=str)


async def test_long_url_is_a_json_414(client, settings):
    raw = await raw_exchange(settings.port, b"GET /jobs?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _, body = split_response(raw)
    assert status == 414
    assert_openeo_error(json.loads(body), "UriTooLong")


async def test_slow_body_times_out_with_408(make_client, auth):
    client = await make_client(body_timeout_seconds=0.5)
    port = client.server.port
    request = (b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
               b"Authorization: " + auth["Authorization"].encode() + b"\r\n\r\n{")
    started = time.monotonic()
    raw = await raw_exchange(port, request, read_timeout=10)
    assert time.monotonic() - started < 5
    status, _, body = split_response(raw)
    assert status == 408
    assert_openeo_error(json.loads(body), "RequestTimeout")


async def test_idle_and_incomplete_heads_are_disconnected(make_client):
    client = await make_client(idle_timeout_seconds=0.5)
    port = client.server.port
    started = time.monotonic()
    # half a request head, then nothing: the connection is closed, nothing is answered
    raw = await raw_exchange(port, b"GET /jobs HTTP/1.1\r\nHost: x\r\nX-Slow: a", read_timeout=10)
    assert raw == b"" and time.monotonic() - started < 5


async def test_client_disconnect_mid_stream_is_logged_at_info_without_traceback(client, auth, fakes, settings):
    fakes.executor.result_chunks = [b"II*\x00" + b"a" * 1000] + [b"b" * 65536] * 200
    fakes.executor.chunk_delay = 0.01
    body = json.dumps({"process": PROCESS}).encode()
    with capture_logs() as logs:
        reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
        writer.write(b"POST /result HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + auth["Authorization"].encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        assert (await reader.read(100)).startswith(b"HTTP/1.1 200")
        writer.transport.abort()
        for _ in range(100):
            if any(e.get("event") == "http_request" for e in logs):
                break
            await asyncio.sleep(0.05)
    events = [e for e in logs if e.get("event") in ("client_disconnected", "request_internal_error", "http_request")]
    assert [e["event"] for e in events] == ["client_disconnected", "http_request"], logs
    assert events[0]["log_level"] == "info" and "exc_info" not in events[0]
    assert events[1]["status"] == 499


# ------------------------------------------------------------------ CORS

async def test_cors_reflects_the_origin_with_credentials(client, auth):
    resp = await client.get("/jobs", headers={**auth, "Origin": "https://editor.openeo.org"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://editor.openeo.org"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in resp.headers.getall("Vary")
    exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Link", "Location", "OpenEO-Costs", "OpenEO-Identifier"} <= exposed
    assert not exposed & {"Cache-Control", "Content-Language", "Content-Length", "Content-Type", "Expires",
                          "Last-Modified", "Pragma"}  # the API: MUST NOT be listed


async def test_cors_without_origin_is_the_wildcard_never_with_credentials(client, auth):
    for resp in (await client.get("/"), await client.get("/jobs"), await client.get("/jobs", headers=auth)):
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in resp.headers
        assert "OpenEO-Identifier" in resp.headers["Access-Control-Expose-Headers"]
        assert "Origin" in resp.headers.getall("Vary")


async def test_a_client_that_stops_reading_a_result_is_disconnected(make_client, auth, fakes):
    client = await make_client(body_timeout_seconds=0.5)
    fakes.executor.result_chunks = [b"II*\x00" + b"a" * 1000] + [b"b" * (1024 * 1024)] * 64
    body = json.dumps({"process": PROCESS}).encode()
    with capture_logs() as logs:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.transport.set_write_buffer_limits(0)
        sock = writer.transport.get_extra_info("socket")
        import socket

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing: the server's writes block
        writer.write(b"POST /result HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + auth["Authorization"].encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        for _ in range(200):
            if any(e.get("event") == "client_too_slow" for e in logs):
                break
            await asyncio.sleep(0.05)
        writer.close()
    assert any(e.get("event") == "client_too_slow" and e["log_level"] == "info" for e in logs)
    assert not any(e.get("event") == "request_internal_error" for e in logs)


# ------------------------------------------------------------------ readiness

async def test_readyz_is_503_while_the_store_reports_its_database_down(client, fakes):
    """The store keeps running (process health "" SERVING) but reports StoreService NOT_SERVING
    while MongoDB is unreachable (store_svc.app.database_reachable); /readyz follows that."""
    from grpc_health.v1 import health_pb2

    from gateway.clients import HEALTH_SERVICES

    assert (await client.get("/readyz")).status == 200
    await fakes.servers["store"].health.set(HEALTH_SERVICES["store"], health_pb2.HealthCheckResponse.NOT_SERVING)
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503
    assert (await not_ready.json())["services"]["store"] == "NOT_SERVING"
    await fakes.servers["store"].health.set(HEALTH_SERVICES["store"], health_pb2.HealthCheckResponse.SERVING)
    assert (await client.get("/readyz")).status == 200


async def test_a_compressed_body_is_limited_after_decompression(client, auth, settings):
    """A gzip bomb (30 MB of zeros in ~30 kB) is refused at GATEWAY_MAX_BODY_BYTES, quickly."""
    import gzip

    bomb = gzip.compress(b'{"x": "' + b"0" * (30 * 1024 * 1024) + b'"}', compresslevel=9)
    assert len(bomb) < settings.max_body_bytes  # only its decompressed size is too large
    started = time.perf_counter()
    resp = await client.post("/jobs", data=bomb, headers={**auth, **JSON, "Content-Encoding": "gzip"})
    assert resp.status == 413
    assert_openeo_error(await resp.json(), "PayloadTooLarge")
    assert time.perf_counter() - started < 5
