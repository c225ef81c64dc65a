"""Typed aiohttp application keys shared by the route modules."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from gateway.clients import Clients
from gateway.config import Settings
from gateway.signing import ResultSigner

SETTINGS = web.AppKey("settings", Settings)
CLIENTS = web.AppKey("clients", Clients)
SIGNER = web.AppKey("signer", ResultSigner)
HTTP = web.AppKey("http_session", aiohttp.ClientSession)
# Cached ids of predefined processes: (monotonic time, frozenset of ids).
PROCESS_IDS = web.AppKey("process_ids", dict)
