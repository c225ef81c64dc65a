"""One local stack (all real processes on free loopback ports) per test session."""

from __future__ import annotations

import openeo
import pytest

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, Stack, StackConfig


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    config = StackConfig.free_ports(
        tmp_path_factory.mktemp("stack"),
        executors=2,
        # short leases so that a killed executor's job is requeued within seconds
        extra_env={"EXECUTOR_LEASE_SECONDS": "6", "EXECUTOR_RENEW_SECONDS": "2", "EXECUTOR_POLL_SECONDS": "0.5"},
    )
    with Stack(config) as running:
        yield running


@pytest.fixture
def connection(stack) -> openeo.Connection:
    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    return con


@pytest.fixture
def second_connection(stack) -> openeo.Connection:
    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(SECOND_CLIENT_ID, SECOND_CLIENT_SECRET)
    return con
