"""S3 access for batch results (aiobotocore).

Environment:
  S3_ENDPOINT_URL (empty = AWS), S3_BUCKET (default openeo-results), S3_REGION (default us-east-1),
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.

Uploads stream: parts of `part_size` (>= 5 MiB) are sent as they fill, so at most one part is
held in memory; objects smaller than one part go up with a single PUT. Downloads stream too, the
whole object or a byte range of it (a ranged GetObject: S3 sends only those bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from backend_common.config import env_str
from backend_common.logging import get_logger

log = get_logger(__name__)

MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
DOWNLOAD_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str | None
    bucket: str
    region: str
    access_key: str | None
    secret_key: str | None

    @classmethod
    def from_env(cls) -> "S3Config":
        return cls(
            endpoint_url=env_str("S3_ENDPOINT_URL", "") or None,
            bucket=env_str("S3_BUCKET", "openeo-results"),
            region=env_str("S3_REGION", "us-east-1"),
            access_key=env_str("AWS_ACCESS_KEY_ID", "") or None,
            secret_key=env_str("AWS_SECRET_ACCESS_KEY", "") or None,
        )


class ObjectNotFound(Exception):
    """The requested key does not exist."""


@dataclass(frozen=True)
class ObjectInfo:
    """What HEAD tells about an object: size, content type, S3's entity tag (quoted, as S3 sends
    it; it changes whenever the content does) and last modification (UTC)."""

    size: int
    content_type: str
    etag: str
    last_modified: datetime | None


class S3Storage:
    """One aiobotocore client for the service's lifetime: `await start()` / `await close()`."""

    def __init__(self, config: S3Config, *, part_size: int = DEFAULT_PART_SIZE):
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.config = config
        self.bucket = self.config.bucket
        self.part_size = part_size
        self._stack: contextlib.AsyncExitStack | None = None
        self._client = None

    async def start(self) -> "S3Storage":
        if self._client is not None:
            return self
        self._stack = contextlib.AsyncExitStack()
        session = get_session()
        self._client = await self._stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=self.config.endpoint_url,
                region_name=self.config.region,
                aws_access_key_id=self.config.access_key,
                aws_secret_access_key=self.config.secret_key,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                    max_pool_connections=32,
                ),
            )
        )
        return self

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self._client = None

    async def __aenter__(self) -> "S3Storage":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def client(self):
        if self._client is None:
            raise RuntimeError("S3Storage not started")
        return self._client

    # ---- bucket ----

    async def ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as err:
            if _status(err) != 404:
                raise
        try:
            await self.client.create_bucket(Bucket=self.bucket)
            log.info("s3_bucket_created", bucket=self.bucket)
        except ClientError as err:
            if _error_code(err) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    # ---- upload ----

    async def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> int:
        await self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return len(data)

    async def upload_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str = "application/octet-stream"
    ) -> int:
        """Uploads the concatenation of `chunks`; returns the object size. Multipart when it
        exceeds one part; the upload is aborted on any failure."""
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict] = []
        total = 0
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                buffer += chunk
                total += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        created = await self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key, ContentType=content_type
                        )
                        upload_id = created["UploadId"]
                    body = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, body))
            if upload_id is None:
                await self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentType=content_type)
                return total
            if buffer:
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
                buffer.clear()
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return total
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                    )
            raise

    async def _upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> dict:
        response = await self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    async def upload_file(self, key: str, path: str | os.PathLike, content_type: str = "application/octet-stream") -> int:
        """Streams a local file up, reading one part at a time in a worker thread."""
        return await self.upload_stream(key, read_file_chunks(path, self.part_size), content_type)

    # ---- download ----

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            response = await self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _status(err) == 404:
                return None
            raise
        modified = response.get("LastModified")
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=timezone.utc)
        return ObjectInfo(
            size=response["ContentLength"],
            content_type=response.get("ContentType", ""),
            etag=response.get("ETag", ""),
            last_modified=modified.astimezone(timezone.utc) if modified is not None else None,
        )

    async def download_stream(
        self, key: str, chunk_size: int = DOWNLOAD_CHUNK, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yields the object in chunks of at most `chunk_size` bytes; ObjectNotFound if missing.

        With `offset` / `length` only those bytes (`length` None: to the end) are asked for, by a
        ranged GetObject; the caller keeps the range inside the object (`head`)."""
        request = {"Bucket": self.bucket, "Key": key}
        if length is not None and length <= 0:
            return
        if offset or length is not None:
            if offset < 0:
                raise ValueError("negative offset")
            last = "" if length is None else str(offset + length - 1)
            request["Range"] = f"bytes={offset}-{last}"
        try:
            response = await self.client.get_object(**request)
        except ClientError as err:
            if _status(err) == 404 or _error_code(err) in ("NoSuchKey", "NotFound"):
                raise ObjectNotFound(key) from None
            raise
        body = response["Body"]
        try:
            pending = b""
            async for piece in body.iter_chunks(chunk_size):
                pending = pending + piece if pending else piece
                while len(pending) >= chunk_size:
                    yield pending[:chunk_size]
                    pending = pending[chunk_size:]
            if pending:
                yield pending
        finally:
            body.close()

    async def get_bytes(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.download_stream(key)])

    async def download_file(self, key: str, path: str | os.PathLike, chunk_size: int = DOWNLOAD_CHUNK) -> int:
        """Streams the object into a local file (writes in a worker thread); returns its size.
        ObjectNotFound if missing; a partly written file is removed on failure."""
        loop = asyncio.get_running_loop()
        handle = await loop.run_in_executor(None, open, path, "wb")
        size = 0
        try:
            async for chunk in self.download_stream(key, chunk_size):
                await loop.run_in_executor(None, handle.write, chunk)
                size += len(chunk)
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                os.remove(path)
            raise
        handle.close()
        return size

    # ---- listing / deletion ----

    async def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    async def delete_prefix(self, prefix: str) -> int:
        """Deletes every object whose key starts with `prefix`; returns how many."""
        if not prefix:
            raise ValueError("refusing to delete with an empty prefix")
        keys = await self.list_keys(prefix)
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            response = await self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = response.get("Errors") or []
            if errors:
                raise RuntimeError(f"S3 refused to delete {len(errors)} objects under {prefix!r}")
        return len(keys)


async def read_file_chunks(path: str | os.PathLike, size: int) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    handle = await loop.run_in_executor(None, open, path, "rb")
    try:
        while True:
            chunk = await loop.run_in_executor(None, handle.read, size)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


def _status(err: ClientError) -> int | None:
    return err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
