"""Issue 22 for secondary web services on the whole stack: the PUs of a service's rendered tiles
reach GET /services/{id} and the owner's month, and a spent budget refuses new tiles with 402."""

from __future__ import annotations

import time

import mercantile
import requests

from tests.e2e.test_costs import _headers
from tests.e2e.test_tiles import scaled_b04_graph


def test_a_tiny_budget_serves_a_first_tile_then_refuses_with_402(stack, connection):
    url, headers = stack.gateway_url, _headers(connection)
    before = requests.get(f"{url}/me", headers=headers, timeout=30).json()["spending"]["processing_units"]
    process = {"process_graph": scaled_b04_graph(connection).flat_graph()}
    resp = requests.post(f"{url}/services", json={"type": "XYZ", "process": process, "budget": 0.001},
                         headers=headers, timeout=60)
    assert resp.status_code == 201, resp.text
    service_id = resp.headers["OpenEO-Identifier"]
    try:
        service = requests.get(f"{url}/services/{service_id}", headers=headers, timeout=30).json()
        assert service["budget"] == 0.001 and service["costs"] == 0
        first, second = mercantile.tile(14.01, 46.01, 13), mercantile.tile(14.06, 46.06, 13)
        assert first != second
        served = requests.get(tile_url_of(service, first), timeout=120)
        assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"
        refused = requests.get(tile_url_of(service, second), timeout=120)
        assert refused.status_code == 402, refused.text
        error = refused.json()
        assert error["code"] == "PaymentRequired" and "budget of 0.001 processing units" in error["message"]
        costs = 0.0
        deadline = time.time() + 30
        while costs == 0 and time.time() < deadline:  # sent to the store every few seconds
            time.sleep(0.5)
            service = requests.get(f"{url}/services/{service_id}", headers=headers, timeout=30).json()
            costs = service["costs"]
        assert costs > 0.001
        assert service["usage"]["sentinelhub"]["value"] == costs and service["usage"]["tiles"]["value"] == 1
        after = requests.get(f"{url}/me", headers=headers, timeout=30).json()["spending"]["processing_units"]
        assert after - before >= costs * 0.999
    finally:
        requests.delete(f"{url}/services/{service_id}", headers=headers, timeout=30)


def tile_url_of(service: dict, tile: mercantile.Tile) -> str:
    return service["url"].replace("{z}", str(tile.z)).replace("{x}", str(tile.x)).replace("{y}", str(tile.y))
