"""Whose Sentinel Hub account a batch job runs on, and the rules that keep it that way.

A basic-login user's job runs with the Sentinel Hub access token the store kept from the owner's
last start of the job (`ClaimJobResponse.owner`): their account pays, as for their synchronous
requests. Such a token cannot be refreshed without the client secret, which is never stored. So a
job whose token is missing, has expired (JWT `exp`) or is refused by Sentinel Hub (401/403) ends in
`error` telling the user to log in again and restart it: it is never retried, and never run on the
backend's own account instead. OIDC users have no Sentinel Hub token: their jobs use the
backend's account and the processing units are charged to the job (`costs`, `usage`).
Tokens are never logged.
"""

from __future__ import annotations

import time

import jwt

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2

LOG_IN_AGAIN = "log in again and restart the job"


class OwnerCredentialsRefused(Exception):
    """The owner's own Sentinel Hub credentials cannot be used: the job ends in error, no retry."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def error(self) -> dict:
        return {"code": "TokenInvalid", "message": self.message}


def owner_of(claimed_owner: common_pb2.User, job) -> common_pb2.User:
    """The user the job runs as: the claimed owner (always the job's user id)."""
    owner = common_pb2.User()
    owner.CopyFrom(claimed_owner)
    owner.user_id = job.user_id
    return owner


def needs_own_account(owner: common_pb2.User) -> bool:
    """Basic-login users pay with their own Sentinel Hub account (ids `basic~<sub>`; the auth
    method may be missing on jobs started by an older gateway)."""
    return owner.auth_method == "basic" or owner.user_id.startswith(("basic~", "basic:"))


def _expiry(token: str) -> float | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None  # opaque token: Sentinel Hub decides
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, (int, float)) else None


def check_before_run(owner: common_pb2.User, *, now: float | None = None) -> None:
    """Raises OwnerCredentialsRefused when a basic-login owner's job cannot run on their account."""
    if not needs_own_account(owner):
        return
    token = owner.sh_access_token
    if not token:
        raise OwnerCredentialsRefused(
            "No Sentinel Hub login is stored with this job, and it must not run on another account: "
            f"{LOG_IN_AGAIN}.")
    expires = _expiry(token)
    if expires is not None and expires <= (time.time() if now is None else now):
        raise OwnerCredentialsRefused(
            "Your Sentinel Hub login (the access token stored when you started the job) has expired, so the "
            f"job cannot run on your Sentinel Hub account: {LOG_IN_AGAIN}.")


def refusal_of(exc: BaseException, owner: common_pb2.User) -> OwnerCredentialsRefused | None:
    """Sentinel Hub's 401 (TokenInvalid from the client) or 403 to a request made with the
    owner's token, as the job's final error; None for anything else."""
    if not needs_own_account(owner) or not isinstance(exc, OpenEOError):
        return None
    if exc.code == "TokenInvalid" or exc.status in (401, 403):
        return OwnerCredentialsRefused(
            f"Sentinel Hub refused the job's requests made with your account ({exc.message.rstrip('.')}). "
            f"The job was not run on any other account: {LOG_IN_AGAIN}.")
    return None


def account_note(owner: common_pb2.User) -> str:
    if needs_own_account(owner):
        return "Sentinel Hub requests of this job are made with your own Sentinel Hub account."
    return ("Sentinel Hub requests of this job are made with the backend's Sentinel Hub account; their "
            "processing units are charged to this job.")
