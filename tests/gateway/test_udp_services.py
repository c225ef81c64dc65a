"""User-defined processes, XYZ services and the public tile route."""

from __future__ import annotations

from tests.gateway.conftest import BAD_PROCESS, PROCESS

UDP = {"summary": "my ndvi", "parameters": [], **PROCESS}


async def test_udp_crud(client, auth, idp, fakes):
    assert (await client.put("/process_graphs/my_ndvi", json=UDP, headers=auth)).status == 200
    assert "ValidateUserProcess" in fakes.compiler.names()
    got = await (await client.get("/process_graphs/my_ndvi", headers=auth)).json()
    assert got["id"] == "my_ndvi" and got["process_graph"] == PROCESS["process_graph"]
    listing = await (await client.get("/process_graphs", headers=auth)).json()
    assert [p["id"] for p in listing["processes"]] == ["my_ndvi"]
    assert "process_graph" not in listing["processes"][0]
    other = {"Authorization": "Bearer basic//" + idp.token(sub="bob")}
    missing = await client.get("/process_graphs/my_ndvi", headers=other)
    assert missing.status == 404 and (await missing.json())["code"] == "ProcessGraphNotFound"
    assert (await client.delete("/process_graphs/my_ndvi", headers=auth)).status == 204
    assert (await client.get("/process_graphs/my_ndvi", headers=auth)).status == 404


async def test_udp_refusals(client, auth):
    predefined = await client.put("/process_graphs/ndvi", json=UDP, headers=auth)
    assert predefined.status == 400 and (await predefined.json())["code"] == "PredefinedProcessExists"
    malformed = await client.put("/process_graphs/mine", json={"process_graph": {"x": {"arguments": {}}}}, headers=auth)
    assert malformed.status == 400 and (await malformed.json())["code"] == "ProcessGraphInvalid"
    no_graph = await client.put("/process_graphs/mine", json={"summary": "x"}, headers=auth)
    assert no_graph.status == 400 and (await no_graph.json())["code"] == "ProcessGraphMissing"
    bad_id = await client.put("/process_graphs/bad-id!", json=UDP, headers=auth)
    assert bad_id.status == 400
    # the API: an id in the body that differs from the path's is replaced by it
    mismatch = await client.put("/process_graphs/a", json={**UDP, "id": "b"}, headers=auth)
    assert mismatch.status == 200
    assert (await (await client.get("/process_graphs/a", headers=auth)).json())["id"] == "a"
    assert (await client.get("/process_graphs/b", headers=auth)).status == 404
    assert (await client.get("/process_graphs")).status == 401


async def create_service(client, auth, **extra) -> str:
    body = {"type": "xyz", "process": PROCESS, "title": "tiles", "configuration": {"tile_size": 512}, **extra}
    resp = await client.post("/services", json=body, headers=auth)
    assert resp.status == 201, await resp.text()
    return resp.headers["OpenEO-Identifier"]


async def test_service_crud(client, auth, settings, fakes):
    service_id = await create_service(client, auth)
    _, validate = [c for c in fakes.compiler.calls if c[0] == "Validate"][-1]
    assert validate.purpose == 3  # PURPOSE_TILE
    svc = await (await client.get(f"/services/{service_id}", headers=auth)).json()
    assert svc["type"] == "XYZ" and svc["enabled"] is True
    assert svc["url"] == f"{settings.public_url}/services/xyz/{service_id}/tiles/{{z}}/{{x}}/{{y}}"
    assert svc["configuration"] == {"tile_size": 512} and svc["process"] == PROCESS
    resp = await client.patch(f"/services/{service_id}", json={"enabled": False, "title": "off"}, headers=auth)
    assert resp.status == 204
    svc = await (await client.get(f"/services/{service_id}", headers=auth)).json()
    assert svc["enabled"] is False and svc["title"] == "off"
    assert (await client.delete(f"/services/{service_id}", headers=auth)).status == 204
    gone = await client.get(f"/services/{service_id}", headers=auth)
    assert gone.status == 404 and (await gone.json())["code"] == "ServiceNotFound"


async def test_service_refusals(client, auth):
    wms = await client.post("/services", json={"type": "WMS", "process": PROCESS}, headers=auth)
    assert wms.status == 400 and (await wms.json())["code"] == "ServiceUnsupported"
    for config, code in [({"tile_size": 300}, "ServiceConfigInvalid"), ({"format": "gif"}, "ServiceConfigInvalid"),
                         ({"layers": 1}, "ServiceConfigUnsupported")]:
        resp = await client.post("/services", json={"type": "XYZ", "process": PROCESS, "configuration": config},
                                 headers=auth)
        assert resp.status == 400 and (await resp.json())["code"] == code
    invalid = await client.post("/services", json={"type": "XYZ", "process": BAD_PROCESS}, headers=auth)
    assert invalid.status == 400 and (await invalid.json())["code"] == "ProcessUnsupported"
    service_id = await create_service(client, auth)
    ro = await client.patch(f"/services/{service_id}", json={"url": "http://x"}, headers=auth)
    assert ro.status == 400 and (await ro.json())["code"] == "PropertyNotEditable"
    empty = await client.patch(f"/services/{service_id}", json={}, headers=auth)
    assert empty.status == 400 and (await empty.json())["code"] == "NoDataForUpdate"


async def test_services_paging(client, auth, settings):
    ids = [await create_service(client, auth) for _ in range(3)]
    page = await (await client.get("/services?limit=2", headers=auth)).json()
    assert [s["id"] for s in page["services"]] == ids[:2]
    nxt = [link["href"] for link in page["links"] if link["rel"] == "next"][0]
    page2 = await (await client.get(nxt[len(settings.public_url):], headers=auth)).json()
    assert [s["id"] for s in page2["services"]] == ids[2:]
    assert page2["links"] == []


async def test_tiles_public_with_etag(client, auth, fakes):
    service_id = await create_service(client, auth)
    resp = await client.get(f"/services/xyz/{service_id}/tiles/3/2/1")  # no auth needed
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Cache-Control"] == "public, max-age=600"
    etag = resp.headers["ETag"]
    data = await resp.read()
    assert data.startswith(b"\x89PNG") and len(data) == 154
    cached = await client.get(f"/services/xyz/{service_id}/tiles/3/2/1", headers={"If-None-Match": etag})
    assert cached.status == 304 and cached.headers["ETag"] == etag
    _, req = fakes.tiles.calls[-1]
    assert req.if_none_match == etag and (req.z, req.x, req.y) == (3, 2, 1)


async def test_tiles_bad_coordinates_and_unknown_service(client, auth):
    service_id = await create_service(client, auth)
    for path in ("a/1/1", "1/x/1", "1/1/-1", "1/5/0", "25/0/0", "31/0/0"):
        resp = await client.get(f"/services/xyz/{service_id}/tiles/{path}")
        assert resp.status == 400, path
        body = await resp.json()
        assert body["code"] == "TileInvalid" and body["message"]
    unknown = await client.get("/services/xyz/s-nope/tiles/1/1/1")
    assert unknown.status == 404 and (await unknown.json())["code"] == "ServiceNotFound"


async def test_service_costs_and_usage_show_what_its_tiles_spent(client, auth, fakes):
    service_id = await create_service(client, auth, budget=3)
    fresh = await (await client.get(f"/services/{service_id}", headers=auth)).json()
    assert fresh["costs"] == 0 and fresh["budget"] == 3
    assert fresh["usage"]["tiles"] == {"value": 0, "unit": "tiles rendered"}
    fakes.store.services[service_id].costs = 1.25  # as AddServiceSpending leaves it
    fakes.store.services[service_id].tiles_rendered = 5
    svc = await (await client.get(f"/services/{service_id}", headers=auth)).json()
    assert svc["costs"] == 1.25
    assert svc["usage"]["sentinelhub"]["value"] == 1.25 and svc["usage"]["tiles"]["value"] == 5
    listing = await (await client.get("/services", headers=auth)).json()
    assert listing["services"][0]["costs"] == 1.25 and "usage" not in listing["services"][0]
    refused = await client.patch(f"/services/{service_id}", json={"costs": 0}, headers=auth)
    assert refused.status == 400 and (await refused.json())["code"] == "PropertyNotEditable"
