"""Which deployment a load's `sh_deployment` goes to, and with which token."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from backend_common.errors import OpenEOError
from backend_proto.v1 import compiler_pb2
from executor_svc.loading.fetch import deployment_for
from executor_svc.sentinelhub.auth import BearerAuth, ClientCredentialsAuth
from executor_svc.sentinelhub.client import SentinelHubClient
from executor_svc.sentinelhub.config import CDSE_TOKEN_URL, DEPLOYMENTS, ClientConfig, Deployment, deployments_from_env

EMU = "http://127.0.0.1:8090"
EMU_ENV = {"SH_USWEST_BASE_URL": EMU + "/uswest2", "SH_CREODIAS_BASE_URL": EMU + "/creodias",
           "SH_CDSE_BASE_URL": EMU + "/cdse", "SH_CDSE_CLIENT_ID": "cdse-client", "SH_CDSE_CLIENT_SECRET": "s"}


def test_public_main_sends_each_name_to_the_public_deployment():
    got = deployments_from_env(DEPLOYMENTS["sh-main"], {})
    assert got["sh-uswest"].base_url == "https://services-uswest2.sentinel-hub.com"
    assert got["sh-creodias"].base_url == "https://creodias.sentinel-hub.com"
    assert got["sh-uswest"].token_url == DEPLOYMENTS["sh-main"].token_url
    assert got["cdse"].base_url == "https://sh.dataspace.copernicus.eu" and got["cdse"].token_url == CDSE_TOKEN_URL


def test_configured_urls_win_and_cdse_gets_its_realm():
    main = Deployment.emulator(EMU)
    got = deployments_from_env(main, EMU_ENV)
    assert got["sh-uswest"].process_url == EMU + "/uswest2/api/v1/process"
    assert got["sh-creodias"].token_url == main.token_url
    assert got["cdse"].token_url == EMU + "/cdse/auth/realms/CDSE/protocol/openid-connect/token"
    assert got["cdse"].client_id == "cdse-client"


def test_an_unconfigured_proxy_serves_every_name_itself():
    main = Deployment("custom", "https://sh-proxy.example.org", "https://sh-proxy.example.org/token")
    assert {d.base_url for d in deployments_from_env(main, {}).values()} == {main.base_url}


def test_the_executor_routes_a_load_by_its_name():
    main = Deployment.emulator(EMU)
    cfg = ClientConfig(deployment=main, deployments=deployments_from_env(main, EMU_ENV))
    client = SimpleNamespace(config=cfg)
    landsat = compiler_pb2.SentinelHubLoad(collection_id="LANDSAT8-9_L2", sh_deployment="sh-uswest")
    assert deployment_for(landsat, client).base_url == EMU + "/uswest2"
    assert deployment_for(compiler_pb2.SentinelHubLoad(collection_id="SENTINEL2_L2A"), client) is None
    assert deployment_for(compiler_pb2.SentinelHubLoad(sh_deployment="sh-main"), client) == main


async def test_user_tokens_go_to_their_realm_only():
    main = Deployment.emulator(EMU)
    cfg = ClientConfig(deployment=main, deployments=deployments_from_env(main, EMU_ENV),
                       client_id="backend", client_secret="secret")
    async with SentinelHubClient(cfg) as sh:
        assert isinstance(sh._auth("user-token", cfg.deployments["sh-uswest"]), BearerAuth)
        cdse = sh._auth("user-token", cfg.deployments["cdse"])  # a main-realm token does not work on CDSE
        assert isinstance(cdse, ClientCredentialsAuth) and cdse.account_key.endswith(":cdse-client")
        assert isinstance(sh._auth(None, cfg.deployments["sh-creodias"]), ClientCredentialsAuth)
    unconfigured = ClientConfig(deployment=main, deployments={
        "cdse": Deployment("cdse", EMU + "/cdse", EMU + "/cdse/token")})
    async with SentinelHubClient(unconfigured) as sh:
        with pytest.raises(OpenEOError) as err:
            sh._auth("user-token", unconfigured.deployments["cdse"])
        assert "cdse" in err.value.message


def test_the_devstack_points_every_deployment_at_the_emulator(monkeypatch):
    from devstack.stack import Stack

    for var in ("SH_BASE_URL", "SH_USWEST_BASE_URL", "SH_CDSE_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    env = Stack._deployment_env(EMU)
    assert env["SH_USWEST_BASE_URL"] == EMU + "/uswest2" and env["SH_CDSE_BASE_URL"] == EMU + "/cdse"
    assert env["SH_CDSE_CLIENT_ID"] == "cdse-client"
    monkeypatch.setenv("SH_BASE_URL", "https://services.sentinel-hub.com")  # a real Sentinel Hub: nothing invented
    assert Stack._deployment_env("https://services.sentinel-hub.com") == {}
