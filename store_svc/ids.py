"""Unguessable identifiers: 122 random bits each. Service ids are capabilities (tile URLs are not
authenticated), job ids should not leak how many jobs exist."""

from __future__ import annotations

import secrets
import uuid


def new_job_id() -> str:
    return "j-" + uuid.uuid4().hex


def new_service_id() -> str:
    return "s-" + uuid.uuid4().hex


def new_document_key() -> str:
    return uuid.uuid4().hex


def new_run_id() -> str:
    return uuid.uuid4().hex


def new_lease_token() -> str:
    return secrets.token_urlsafe(24)
