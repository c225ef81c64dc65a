"""Fixtures for the executor tests: a real SeaweedFS S3 endpoint (devstack/s3.py)."""

from __future__ import annotations


import pytest

from devstack.s3 import _free_port, start_s3


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """SeaweedFS on free ports (or the endpoint in S3_ENDPOINT_URL)."""
    handle = start_s3(tmp_path_factory.mktemp("s3"), s3_port=_free_port(), bucket="executor-tests")
    yield handle
    if not handle.external:
        handle.stop()


@pytest.fixture
def s3_config(s3_server):
    from executor_svc.storage.s3 import S3Config

    return S3Config(
        endpoint_url=s3_server.endpoint_url,
        bucket=s3_server.bucket,
        region=s3_server.region,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
    )


@pytest.fixture
async def storage(s3_config):
    from executor_svc.storage.s3 import S3Storage

    async with S3Storage(s3_config) as store:
        await store.ensure_bucket()
        yield store
