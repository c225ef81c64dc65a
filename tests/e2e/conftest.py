"""One local stack (all real processes on free loopback ports) per test session."""

from __future__ import annotations

import warnings

import openeo
import pytest

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, Stack, StackConfig


def _config(run_dir) -> StackConfig:
    return StackConfig.free_ports(
        run_dir,
        executors=2,
        # short leases so that a killed executor's job is requeued within seconds; a grace after
        # store outages that still exceeds the workers' renewal retries (2 s); storage retries
        # that notice a recovered S3 within seconds
        extra_env={"EXECUTOR_LEASE_SECONDS": "6", "EXECUTOR_RENEW_SECONDS": "2", "EXECUTOR_POLL_SECONDS": "0.5",
                   "JOB_LEASE_GRACE_SECONDS": "10", "EXECUTOR_RETRY_MAX_DELAY_SECONDS": "2",
                   # slow clients are cut off after this (test_bad_input.py)
                   "GATEWAY_BODY_TIMEOUT_SECONDS": "10",
                   # jobs with 5 or more polygons in aggregate_spatial use Batch Statistical (test_statistical_api.py)
                   "BATCH_STATISTICS_MIN_GEOMETRIES": "5"},
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # Free ports are picked before the processes bind them; on a busy machine another process can
    # take one in between. One retry with fresh ports covers that race.
    try:
        running = Stack(_config(tmp_path_factory.mktemp("stack"))).start()
    except (RuntimeError, TimeoutError) as first:
        warnings.warn(f"local stack failed to start, retrying with other ports: {first}")
        running = Stack(_config(tmp_path_factory.mktemp("stack"))).start()
    try:
        yield running
    finally:
        running.stop()


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
