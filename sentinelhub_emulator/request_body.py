"""Reading a request body that is JSON, or `multipart/form-data` with a `request` JSON part and an
optional `evalscript` part (the Process API, Statistical API and batch create all accept both; reference §2.1)."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import SHError, bad_request


async def read_body(request: web.Request, json_types: tuple[str, ...] | None = None) -> tuple[Any, str | None]:
    """The parsed JSON request and the multipart `evalscript` part's text (None when absent or not
    multipart). Callers put the script where their API expects it. `json_types`: the non-multipart
    content types accepted (others get 415); None accepts any."""
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        return await _read_multipart(request)
    if json_types is not None and ctype not in json_types:
        raise SHError(415, f"Unsupported content type {ctype}", "COMMON_UNSUPPORTED_MEDIA_TYPE")
    try:
        return json.loads(await request.read()), None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON.") from None


async def _read_multipart(request: web.Request) -> tuple[dict, str | None]:
    reader = await request.multipart()
    body, script = None, None
    while (part := await reader.next()) is not None:
        if part.name == "request":
            try:
                body = json.loads(await part.text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise bad_request("The 'request' part is not valid JSON.") from None
        elif part.name == "evalscript":
            script = await part.text()
    if not isinstance(body, dict):
        raise bad_request("Multipart request needs a 'request' part with a JSON object.")
    return body, script
