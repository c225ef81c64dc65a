"""Issue 20, API surface: trailing and repeated slashes are served, the old tile URL redirects."""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from tests.gateway.conftest import PROCESS
from tests.gateway.test_udp_services import create_service


def raw_url(client, path: str) -> URL:
    """`path` exactly as written (the test client would read `//jobs` as a host name)."""
    root = client.make_url("/")
    return URL(f"{root.scheme}://{root.host}:{root.port}{path}", encoded=True)


async def send(client, method: str, path: str, **kwargs):
    async with aiohttp.ClientSession() as session:
        async with session.request(method, raw_url(client, path), allow_redirects=False, **kwargs) as resp:
            return resp.status, dict(resp.headers), await resp.read()


async def test_trailing_and_double_slashes_are_served(client, auth):
    status, headers, _ = await send(client, "POST", "/jobs/", json={"process": PROCESS, "title": "slash"},
                                    headers=auth)
    assert status == 201  # the POST body reached the handler
    job_id = headers["OpenEO-Identifier"]
    for path in (f"//jobs/{job_id}", f"/jobs/{job_id}/", f"/jobs//{job_id}", f"//jobs//{job_id}//"):
        status, _, body = await send(client, "GET", path, headers=auth)
        assert status == 200, (path, body)
        assert b'"slash"' in body
    status, _, body = await send(client, "GET", "/jobs/?limit=1", headers=auth)
    assert status == 200 and b'"jobs"' in body
    status, _, _ = await send(client, "PATCH", f"//jobs/{job_id}/", json={"title": "renamed"}, headers=auth)
    assert status == 204
    _, _, body = await send(client, "GET", f"/jobs/{job_id}", headers=auth)
    assert b'"renamed"' in body


@pytest.mark.parametrize("path, status", [("/no/such/thing/", 404), ("//no//such", 404), ("/", 200)])
async def test_paths_that_match_nothing_stay_404(client, path, status):
    got, headers, _ = await send(client, "GET", path)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")


async def test_a_wrong_method_on_a_slashed_path_is_405(client, auth):
    status, headers, _ = await send(client, "PUT", "/jobs/", headers=auth)
    assert status == 405 and set(headers["Allow"].split(", ")) == {"GET", "POST"}


async def test_old_tile_url_redirects_to_the_tile(client, auth, settings):
    service_id = await create_service(client, auth)
    status, headers, _ = await send(client, "GET", f"/service/xyz/{service_id}/4/3/2.png?x=1")
    assert status == 308
    assert headers["Location"] == f"{settings.public_url}/services/xyz/{service_id}/tiles/4/3/2.png?x=1"
    resp = await client.get(f"/service/xyz/{service_id}/4/3/2")  # followed
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
    assert str(resp.url).endswith(f"/services/xyz/{service_id}/tiles/4/3/2")
