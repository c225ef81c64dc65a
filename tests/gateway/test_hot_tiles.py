"""The gateway's short-lived cache of hot tiles."""

from __future__ import annotations

import time

from gateway.routes.tiles import HotTiles
from tests.gateway.test_udp_services import create_service


def test_hot_tiles_expire_and_stay_within_their_byte_bound():
    hot = HotTiles(ttl=0.05, max_bytes=100)
    hot.put(("s", 1, 0, 0), b"a" * 60, {"ETag": '"a"'})
    assert hot.get(("s", 1, 0, 0)).body == b"a" * 60
    hot.put(("s", 1, 0, 1), b"b" * 60, {"ETag": '"b"'})  # evicts the oldest
    assert hot.get(("s", 1, 0, 0)) is None and len(hot) == 1
    hot.put(("s", 1, 0, 2), b"c" * 200, {"ETag": '"c"'})  # larger than the bound: not kept
    assert hot.get(("s", 1, 0, 2)) is None
    time.sleep(0.06)
    assert hot.get(("s", 1, 0, 1)) is None and len(hot) == 0


async def test_a_hot_tile_is_served_without_a_render_call_but_revalidation_asks(client, auth, fakes):
    service_id = await create_service(client, auth)
    url = f"/services/xyz/{service_id}/tiles/4/3/2"
    first = await client.get(url)
    body = await first.read()
    calls = len(fakes.tiles.calls)
    again = await client.get(url)
    assert again.status == 200 and await again.read() == body
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["X-Cache"] == "HIT"
    assert again.headers["Content-Type"] == "image/png"
    assert len(fakes.tiles.calls) == calls
    conditional = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert conditional.status == 304 and len(fakes.tiles.calls) == calls + 1
