"""Catalog API search: paging, datetime intervals, cloud-cover filters, distinct dates."""
from __future__ import annotations

from datetime import datetime, timezone

from sentinelhub_emulator import world

from .conftest import sh_error

S2 = "sentinel-2-l2a"
START = datetime(2021, 3, 1, tzinfo=timezone.utc)
END = datetime(2021, 8, 31, 23, 59, 59, tzinfo=timezone.utc)
DT = "2021-03-01T00:00:00Z/2021-08-31T23:59:59Z"


async def _all_pages(emu, body):
    feats, pages = [], 0
    nxt = None
    while True:
        b = dict(body)
        if nxt is not None:
            b["next"] = nxt
        resp = await emu.search(b)
        assert resp.status == 200, await resp.text()
        page = await resp.json()
        pages += 1
        ctx = page["context"]
        assert ctx["returned"] == len(page["features"]) <= ctx["limit"]
        feats.extend(page["features"])
        if "next" not in ctx:
            return feats, pages
        nxt = ctx["next"]


async def test_paging_returns_every_item_once(emu):
    body = {"collections": [S2], "datetime": DT, "bbox": [13.2, 45.3, 14.5, 45.8], "limit": 7}
    feats, pages = await _all_pages(emu, body)
    dates = world.acquisition_dates(S2, START, END)
    assert len(feats) == len(dates) * 2  # two 1-degree cells (13 and 14 E) per acquisition
    assert pages == -(-len(feats) // 7)
    assert len({f["id"] for f in feats}) == len(feats)
    got = sorted({f["properties"]["datetime"] for f in feats})
    assert got == [d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in dates]
    for f in feats:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "MultiPolygon"
        d = datetime.fromisoformat(f["properties"]["datetime"].replace("Z", "+00:00"))
        assert f["properties"]["eo:cloud_cover"] == world.scene_cloud_cover(S2, d)


async def test_limit_is_capped_at_100_and_validated(emu):
    resp = await emu.search({"collections": ["sentinel-1-grd"], "datetime": "2018-01-01T00:00:00Z/2021-01-01T00:00:00Z",
                             "bbox": [13, 45, 13.5, 45.5], "limit": 500})
    page = await resp.json()
    assert page["context"]["limit"] == 100 and len(page["features"]) == 100 and page["context"]["next"] == 100
    await sh_error(await emu.search({"collections": [S2], "datetime": DT, "limit": 0}), 400)


async def test_open_ended_intervals(emu):
    resp = await emu.search({"collections": [S2], "datetime": "2021-06-20T00:00:00Z/..", "limit": 3,
                             "distinct": "date"})
    page = await resp.json()
    assert page["features"][0] == world.acquisition_dates(S2, datetime(2021, 6, 20), datetime(2021, 6, 30))[0].strftime("%Y-%m-%d")
    resp = await emu.search({"collections": [S2], "datetime": "../2017-01-20T00:00:00Z", "distinct": "date"})
    assert (await resp.json())["features"] == ["2017-01-03", "2017-01-08", "2017-01-13", "2017-01-18"]


async def test_cloud_cover_filters_text_and_json(emu):
    dates = world.acquisition_dates(S2, START, END)
    expected = [d.strftime("%Y-%m-%d") for d in dates if world.scene_cloud_cover(S2, d) < 30]
    assert 0 < len(expected) < len(dates)  # the world has cloudy and clear days in this range
    base = {"collections": [S2], "datetime": DT, "bbox": [13, 45, 13.5, 45.5], "distinct": "date", "limit": 100}
    text = await (await emu.search({**base, "filter": "eo:cloud_cover < 30"})).json()
    assert text["features"] == expected
    cql2 = await (await emu.search({**base, "filter-lang": "cql2-json",
                                    "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 30]}})).json()
    assert cql2["features"] == expected
    both = await (await emu.search({**base, "filter": "eo:cloud_cover >= 10 and eo:cloud_cover <= 50"})).json()
    assert both["features"] == [d.strftime("%Y-%m-%d") for d in dates
                                if 10 <= world.scene_cloud_cover(S2, d) <= 50]
    await sh_error(await emu.search({**base, "filter": "platform = 3"}), 400)


async def test_distinct_date_paging(emu):
    body = {"collections": [S2], "datetime": DT, "bbox": [13, 45, 16, 47], "distinct": "date", "limit": 10}
    feats, _ = await _all_pages(emu, body)
    assert feats == sorted({d.strftime("%Y-%m-%d") for d in world.acquisition_dates(S2, START, END)})


async def test_intersects_selects_cells(emu):
    tri = {"type": "Polygon", "coordinates": [[[13.2, 45.2], [14.8, 45.2], [14.8, 45.8], [13.8, 45.8], [13.8, 46.8],
                                               [13.2, 46.8], [13.2, 45.2]]]}  # an L over 3 of the 4 cells
    resp = await emu.search({"collections": [S2], "datetime": "2021-06-01T00:00:00Z/2021-06-01T23:59:59Z",
                             "intersects": tri, "limit": 100})
    feats = (await resp.json())["features"]
    cells = sorted(tuple(f["bbox"][:2]) for f in feats)
    assert cells == [(13.0, 45.0), (13.0, 46.0), (14.0, 45.0)]


async def test_bad_requests(emu):
    await sh_error(await emu.search({"collections": ["nope"], "datetime": DT}), 400)
    await sh_error(await emu.search({"collections": [S2]}), 400)
    await sh_error(await emu.search({"collections": [S2], "datetime": "yesterday"}), 400)


async def test_get_variant(emu):
    resp = await emu.client.get("/api/v1/catalog/1.0.0/search", params={
        "collections": S2, "datetime": DT, "bbox": "13,45,13.5,45.5", "limit": "5"}, headers=await emu.auth())
    page = await resp.json()
    assert resp.status == 200 and len(page["features"]) == 5 and page["context"]["next"] == 5


async def test_ids_filter(emu):
    base = {"collections": [S2], "datetime": DT, "bbox": [13.2, 45.3, 14.5, 45.8], "limit": 4}
    first = (await (await emu.search(base)).json())["features"]
    wanted = [first[1]["id"], first[3]["id"], "not-an-item"]
    page = await (await emu.search({**base, "ids": wanted})).json()
    assert [f["id"] for f in page["features"]] == wanted[:2] and "next" not in page["context"]


async def test_type_specific_properties_filter_and_distinct(emu):
    base = {"collections": ["sentinel-1-grd"], "datetime": "2021-06-01T00:00:00Z/2021-06-30T23:59:59Z", "limit": 100}
    every = (await (await emu.search(base)).json())["features"]
    asc = (await (await emu.search({**base, "filter": "sat:orbit_state = 'ascending'"})).json())["features"]
    desc = (await (await emu.search({**base, "filter-lang": "cql2-json", "filter": {
        "op": "=", "args": [{"property": "sat:orbit_state"}, "descending"]}})).json())["features"]
    assert asc and desc and len(asc) + len(desc) == len(every)
    assert {f["properties"]["sat:orbit_state"] for f in asc} == {"ascending"}
    assert every[0]["properties"]["s1:polarization"] == "DV"
    distinct = await (await emu.search({**base, "distinct": "sat:orbit_state"})).json()
    assert distinct["features"] == ["ascending", "descending"]
    await sh_error(await emu.search({**base, "filter": "eo:cloud_cover < 10"}), 400)  # S1 has no cloud cover
    await sh_error(await emu.search({**base, "filter": "sat:orbit_state < 'b'"}), 400)
