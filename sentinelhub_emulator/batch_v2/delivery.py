"""Writing a task's files to its delivery bucket with the credentials of the request (SigV4, aiobotocore).

``SH_EMULATOR_S3_ENDPOINT`` is the object store the emulator treats as "AWS S3" (SeaweedFS in the
dev stack); empty means AWS itself.
"""
from __future__ import annotations

import contextlib

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .request import Delivery


class DeliveryError(Exception):
    """The bucket refused or could not be reached; the message is what Sentinel Hub reports."""


class Bucket:
    def __init__(self, delivery: Delivery, endpoint_url: str | None):
        self.delivery = delivery
        self.endpoint_url = endpoint_url
        self._stack: contextlib.AsyncExitStack | None = None
        self._client = None

    async def __aenter__(self) -> "Bucket":
        self._stack = contextlib.AsyncExitStack()
        d = self.delivery
        self._client = await self._stack.enter_async_context(get_session().create_client(
            "s3", endpoint_url=self.endpoint_url, region_name=d.region or "us-east-1",
            aws_access_key_id=d.access_key, aws_secret_access_key=d.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 3, "mode": "standard"})))
        return self

    async def __aexit__(self, *exc) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    async def put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            await self._client.put_object(Bucket=self.delivery.bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise DeliveryError(f"Could not write to s3://{self.delivery.bucket}/{key}: "
                                f"{err.get('Code', 'error')} {err.get('Message', '')}".rstrip()) from None
        except BotoCoreError as exc:
            raise DeliveryError(f"Could not write to s3://{self.delivery.bucket}/{key}: {exc}") from None

    async def exists(self, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=self.delivery.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise DeliveryError(f"Could not read s3://{self.delivery.bucket}/{key}: "
                                f"{exc.response.get('Error', {}).get('Code', 'error')}") from None
        except BotoCoreError as exc:
            raise DeliveryError(f"Could not reach the bucket {self.delivery.bucket}: {exc}") from None
