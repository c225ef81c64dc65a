"""Stable user ids that fit the openEO API's `user_id` pattern (`^[\\w\\-\\.~]+$`).

`basic~<sub>` for Sentinel Hub accounts, `oidc~<provider>~<sub>` for OpenID Connect users, so
that a basic user and an OIDC user never share an id. A part with characters outside the pattern
(e.g. an e-mail-like `sub`) is replaced by a hash of it.
"""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"^[\w\-.]+$")


def _part(value: str) -> str:
    if _SAFE.fullmatch(value):
        return value
    return "h" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def user_id(method: str, *parts: str) -> str:
    return "~".join([method, *(_part(p) for p in parts)])
