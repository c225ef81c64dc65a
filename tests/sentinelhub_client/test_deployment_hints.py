"""Which deployment a load's `sh_deployment` (US-West for Landsat) selects."""

from __future__ import annotations

import pytest

from executor_svc.sentinelhub.config import DEPLOYMENTS, Deployment, hinted_deployment

USWEST = DEPLOYMENTS["sh-uswest"].base_url


def test_sh_main_follows_the_hint_to_us_west_with_the_same_token_endpoint():
    chosen = hinted_deployment(USWEST + "/", DEPLOYMENTS["sh-main"])
    assert chosen == DEPLOYMENTS["sh-uswest"]
    assert chosen.token_url == DEPLOYMENTS["sh-main"].token_url
    assert chosen.process_url == "https://services-uswest2.sentinel-hub.com/api/v1/process"


@pytest.mark.parametrize("default", [
    Deployment.emulator("http://127.0.0.1:8090"),  # one endpoint serving every collection
    DEPLOYMENTS["cdse"],  # another realm: its tokens do not work on US-West
    Deployment("custom", "https://sh-proxy.example.org", "https://sh-proxy.example.org/token"),
])
def test_other_realms_stay_on_their_configured_deployment(default):
    assert hinted_deployment(USWEST, default) is None


def test_no_hint_the_default_itself_or_an_unknown_url_select_nothing():
    main = DEPLOYMENTS["sh-main"]
    assert hinted_deployment("", main) is None
    assert hinted_deployment(main.base_url + "/", main) is None
    assert hinted_deployment("https://elsewhere.example.org", main) is None


def test_the_executor_applies_the_rule_to_a_load():
    from types import SimpleNamespace

    from backend_proto.v1 import compiler_pb2
    from executor_svc.loading.fetch import deployment_for

    load = compiler_pb2.SentinelHubLoad(collection_id="LANDSAT8-9_L2", sh_deployment="sh-uswest")
    on_main = SimpleNamespace(config=SimpleNamespace(deployment=DEPLOYMENTS["sh-main"]))
    on_emulator = SimpleNamespace(config=SimpleNamespace(deployment=Deployment.emulator()))
    assert deployment_for(load, on_main) == DEPLOYMENTS["sh-uswest"]
    assert deployment_for(load, on_emulator) is None
    assert deployment_for(compiler_pb2.SentinelHubLoad(collection_id="SENTINEL2_L2A"), on_main) is None
