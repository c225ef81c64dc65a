"""The owner's credentials stored with a batch job, so the batch worker runs it on the owner's
Sentinel Hub account (a basic-login user's access token), never on the backend's by accident.

They are written when the job is created and whenever its owner starts it (`QueueJob`), and read
back only for `ClaimJob`'s `owner`. `documents.job_to_proto` never copies them, so no other
response (GetJob, ListJobs, the claimed `Job` itself) carries them; nothing here logs them.
The token is a short-lived bearer token; the client secret it was obtained with is never seen by
the store.
"""

from __future__ import annotations

from backend_proto.v1 import common_pb2

FIELD = "credentials"


def from_user(user: common_pb2.User | None) -> dict:
    """What is stored for the calling user (pure)."""
    if user is None:
        return {"auth_method": "", "sh_access_token": ""}
    return {"auth_method": user.auth_method or "", "sh_access_token": user.sh_access_token or ""}


def owner_of(doc: dict) -> common_pb2.User:
    """The job's owner as the worker must act for them (pure)."""
    stored = doc.get(FIELD) or {}
    return common_pb2.User(
        user_id=doc["user_id"],
        auth_method=str(stored.get("auth_method") or ""),
        sh_access_token=str(stored.get("sh_access_token") or ""),
    )
