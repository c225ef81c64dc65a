"""Signed, expiring result URLs (no Authorization header needed to download batch results).

URL: `<public>/jobs/{job_id}/results/assets/{asset}?expires=<unix>&user=<token>&signature=<hex>`
(and the same for the canonical STAC item `.../results/item.json`).

- `user` is an opaque token that carries the owner's user id encrypted (AES-GCM with a key derived
  from RESULT_SIGNING_SECRET), because the gateway is stateless and must know the owner to read the
  job from the store; it does not reveal the user id.
- `signature` is HMAC-SHA256 (key RESULT_SIGNING_SECRET) over job id, resource name, expiry and the
  user token, so none of them can be changed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import api_error


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SignedRef:
    job_id: str
    name: str
    user_id: str
    expires: int


class ResultSigner:
    def __init__(self, secret: str, ttl_seconds: int):
        self._mac_key = hmac.new(secret.encode(), b"openeo-result-url-mac", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(secret.encode(), b"openeo-result-url-user", hashlib.sha256).digest())
        self.ttl_seconds = ttl_seconds

    def expiry(self, now: float | None = None) -> int:
        return int((now if now is not None else time.time()) + self.ttl_seconds)

    def _user_token(self, user_id: str) -> str:
        nonce = os.urandom(12)
        return _b64(nonce + self._aead.encrypt(nonce, user_id.encode(), b"user"))

    def _user_id(self, token: str) -> str:
        raw = _unb64(token)
        if len(raw) < 13:
            raise ValueError("short token")
        return self._aead.decrypt(raw[:12], raw[12:], b"user").decode()

    def _mac(self, job_id: str, name: str, expires: int, user_token: str) -> str:
        message = "\n".join((job_id, name, str(expires), user_token)).encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()

    def query(self, job_id: str, name: str, user_id: str, expires: int) -> dict[str, str]:
        """Query parameters for a signed URL of `name` (an asset name or "item.json")."""
        user_token = self._user_token(user_id)
        return {
            "expires": str(expires),
            "user": user_token,
            "signature": self._mac(job_id, name, expires, user_token),
        }

    def verify(self, job_id: str, name: str, query, now: float | None = None) -> SignedRef:
        """Checks a signed URL; 403 CredentialsInvalid when forged/tampered, 410 when expired."""
        expires_text = query.get("expires", "")
        user_token = query.get("user", "")
        signature = query.get("signature", "")
        if not (expires_text and user_token and signature) or not expires_text.isdigit():
            raise api_error("CredentialsInvalid", "The result URL is not signed correctly.")
        expires = int(expires_text)
        expected = self._mac(job_id, name, expires, user_token)
        if not hmac.compare_digest(expected, signature):
            raise api_error("CredentialsInvalid", "The result URL signature is invalid.")
        if expires < (now if now is not None else time.time()):
            raise api_error("ResultLinkExpired")
        try:
            user_id = self._user_id(user_token)
        except (ValueError, InvalidTag):
            raise api_error("CredentialsInvalid", "The result URL signature is invalid.") from None
        return SignedRef(job_id=job_id, name=name, user_id=user_id, expires=expires)
