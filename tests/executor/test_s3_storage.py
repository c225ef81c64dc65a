"""S3 storage against a real SeaweedFS started by devstack/s3.py."""

from __future__ import annotations

import dataclasses
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from executor_svc.storage.s3 import MIN_PART_SIZE, ObjectNotFound, S3Storage


async def _chunks(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_small_upload_download_roundtrip(storage):
    size = await storage.put_bytes("t/small.txt", b"hello world", "text/plain")
    assert size == 11
    assert await storage.get_bytes("t/small.txt") == b"hello world"
    head = await storage.head("t/small.txt")
    assert head.size == 11 and head.content_type == "text/plain"


async def test_multipart_upload_over_5_mib_streams_and_roundtrips(storage):
    data = os.urandom(MIN_PART_SIZE * 2 + 12345)  # three parts at 5 MiB part size
    store = S3Storage(storage.config, part_size=MIN_PART_SIZE)
    calls = []
    async with store:
        original = store._upload_part

        async def spy(key, upload_id, number, body):
            calls.append(len(body))
            return await original(key, upload_id, number, body)

        store._upload_part = spy
        size = await store.upload_stream("t/big.bin", _chunks(data, 300_000), "application/octet-stream")
    assert size == len(data)
    assert calls == [MIN_PART_SIZE, MIN_PART_SIZE, 12345]
    received = bytearray()
    chunk_sizes = []
    async for chunk in storage.download_stream("t/big.bin", chunk_size=1024 * 1024):
        chunk_sizes.append(len(chunk))
        received += chunk
    assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()
    assert max(chunk_sizes) <= 1024 * 1024


async def test_upload_file(storage, tmp_path):
    path = tmp_path / "f.bin"
    data = os.urandom(MIN_PART_SIZE + 10)
    path.write_bytes(data)
    store = S3Storage(storage.config, part_size=MIN_PART_SIZE)
    async with store:
        assert await store.upload_file("t/file.bin", path) == len(data)
    assert await storage.get_bytes("t/file.bin") == data


async def test_delete_prefix_removes_only_that_prefix(storage):
    for key in ("del/j1/a.tif", "del/j1/sub/b.tif", "del/j10/c.tif", "del/j2/d.tif"):
        await storage.put_bytes(key, b"x")
    assert await storage.delete_prefix("del/j1/") == 2
    assert await storage.list_keys("del/j1/") == []
    assert sorted(await storage.list_keys("del/")) == ["del/j10/c.tif", "del/j2/d.tif"]
    with pytest.raises(ValueError):
        await storage.delete_prefix("")


async def test_missing_object(storage):
    with pytest.raises(ObjectNotFound):
        async for _ in storage.download_stream("t/does-not-exist"):
            pass
    assert await storage.head("t/does-not-exist") is None


async def test_wrong_secret_is_refused(storage):
    await storage.put_bytes("t/secret.txt", b"s")
    bad = dataclasses.replace(storage.config, secret_key="not-the-secret")
    async with S3Storage(bad) as store:
        with pytest.raises(ClientError) as info:
            await store.get_bytes("t/secret.txt")
        assert info.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId")
        with pytest.raises(ClientError):
            await store.put_bytes("t/evil.txt", b"e")
    assert await storage.head("t/evil.txt") is None


def test_anonymous_request_is_refused(s3_server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{s3_server.endpoint_url}/{s3_server.bucket}/t/small.txt", timeout=5)
    assert info.value.code == 403


async def test_head_tells_etag_and_modification_and_ranged_reads_fetch_only_the_range(storage, monkeypatch):
    data = os.urandom(3 * 1024 * 1024 + 17)
    await storage.put_bytes("t/ranged.bin", data)
    info = await storage.head("t/ranged.bin")
    assert info.size == len(data)
    assert info.etag.startswith('"') and info.etag.endswith('"') and len(info.etag) > 2
    assert info.last_modified is not None and info.last_modified.utcoffset().total_seconds() == 0

    fetched = []
    original = storage.client.get_object

    async def spy(**kwargs):
        response = await original(**kwargs)
        fetched.append((kwargs.get("Range"), response["ContentLength"]))
        return response

    monkeypatch.setattr(storage.client, "get_object", spy)

    async def read(**kwargs):
        return b"".join([chunk async for chunk in storage.download_stream("t/ranged.bin", 1024 * 1024, **kwargs)])

    assert await read(offset=1_000_000, length=4096) == data[1_000_000:1_004_096]
    assert fetched[-1] == ("bytes=1000000-1004095", 4096)  # S3 sent only the range
    assert await read(offset=len(data) - 10) == data[-10:]
    assert fetched[-1] == (f"bytes={len(data) - 10}-", 10)
    assert await read(offset=0, length=1) == data[:1]
    assert fetched[-1] == ("bytes=0-0", 1)
    assert await read(offset=5, length=0) == b""  # nothing asked, nothing fetched
    assert len(fetched) == 3
    big = await read(offset=1, length=2 * 1024 * 1024 + 5)
    assert big == data[1 : 2 * 1024 * 1024 + 6]

    await storage.put_bytes("t/ranged.bin", data[:100])  # a new version: a new entity tag
    assert (await storage.head("t/ranged.bin")).etag != info.etag
