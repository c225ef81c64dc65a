"""The local S3 server (SeaweedFS) keeps every acknowledged object through SIGKILL, and comes back
on the same ports with the same data: what the supervisor relies on when it restarts it."""

from __future__ import annotations

import pytest

from devstack.s3 import _free_port, start_s3


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.delenv("S3_ENDPOINT_URL", raising=False)  # this test needs a server it may kill
    handle = start_s3(tmp_path / "s3", s3_port=_free_port(), bucket="durability")
    yield handle
    handle.stop()


def test_acknowledged_objects_survive_sigkill(server):
    client = server.client()
    written = {f"jobs/j-{i}/openEO.tif": bytes([i]) * (1000 + i) for i in range(40)}
    for key, body in written.items():
        client.put_object(Bucket=server.bucket, Key=key, Body=body)
    port = server.ports.s3
    server.kill()  # right after the last acknowledgement, no clean shutdown
    assert server.crashed and not server.running

    server.start()
    assert server.running and server.ports.s3 == port
    client = server.client()
    listing = client.list_objects_v2(Bucket=server.bucket, Prefix="jobs/").get("Contents", [])
    assert {obj["Key"] for obj in listing} == set(written)
    for key, body in written.items():
        assert client.get_object(Bucket=server.bucket, Key=key)["Body"].read() == body
