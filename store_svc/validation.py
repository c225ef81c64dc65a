"""Checks of request fields (pure functions): bad input becomes an openEO error, never stored."""

from __future__ import annotations

import json
import re

from backend_common.errors import OpenEOError
from backend_common.json_documents import document_problem
from store_svc.errors import bad_request

LOG_LEVELS = ("debug", "info", "warning", "error")
SEVERITY = {level: rank for rank, level in enumerate(LOG_LEVELS, start=1)}
DEFAULT_LOG_LEVEL = "info"
# openEO: user-defined process ids match ^\w+$.
PROCESS_GRAPH_ID = re.compile(r"^\w+$")
MAX_JSON_CHARS = 8 * 1024 * 1024


def require_user(user) -> str:
    """The calling user's id; a request without one is refused (the gateway always sets it)."""
    user_id = getattr(user, "user_id", "") if user is not None else ""
    if not user_id:
        raise OpenEOError("AuthenticationRequired", "Unauthorized.", 401)
    return user_id


def json_text(field: str, text: str, *, code: str = "InvalidArgument", required: bool = False,
              want_object: bool = True, user_document: bool = False) -> str:
    """Returns `text` unchanged if it is a JSON document (an object unless `want_object` is
    false); "" stays "" unless `required`. A `user_document` (what users wrote: processes, job
    options, service configuration) must also hold valid Unicode only: an escaped unpaired
    surrogate (`\\ud83d`) is stored fine but fails every reader that encodes it as UTF-8."""
    if text == "":
        if required:
            raise bad_request(code, f"The field '{field}' is required.")
        return ""
    if len(text) > MAX_JSON_CHARS:
        raise bad_request(code, f"The field '{field}' is too large.")
    try:
        value = json.loads(text)
    except ValueError:
        raise bad_request(code, f"The field '{field}' is not valid JSON.") from None
    if want_object and not isinstance(value, dict):
        raise bad_request(code, f"The field '{field}' must be a JSON object.")
    if user_document and "\\u" in text.lower() and document_problem(value, max_depth=10**6):
        raise bad_request(code, f"The field '{field}' is not valid Unicode (an unpaired UTF-16 surrogate).")
    return text


def process_json(text: str, *, required: bool = True) -> str:
    if text == "" and required:
        raise bad_request("ProcessGraphMissing", "Invalid process specified. It doesn't contain a process graph.")
    return json_text("process", text, code="ProcessInvalid", user_document=True)


def log_level(text: str) -> str:
    """openEO log levels; empty means the default (info)."""
    if text == "":
        return DEFAULT_LOG_LEVEL
    level = text.strip().lower()
    if level not in SEVERITY:
        raise bad_request("LogLevelInvalid", f"Log level '{text}' is invalid. Allowed: {', '.join(LOG_LEVELS)}.")
    return level


def budget(value: float) -> float:
    if value != value or value < 0:  # NaN or negative
        raise bad_request("BudgetInvalid", "The specified budget is invalid.")
    return float(value)


def process_graph_id(text: str) -> str:
    if not PROCESS_GRAPH_ID.match(text or ""):
        raise bad_request("ProcessGraphIdInvalid", f"User-defined process id '{text}' is invalid: it must match ^\\w+$.")
    return text


def patch_changes(request, patchable: dict) -> dict:
    """The document fields a PATCH-style request changes, validated.

    `patchable` maps an update-mask name to (document field, reader of the request). No field
    names, or a name that is not patchable, are 400 errors.
    """
    if not request.update_mask:
        raise bad_request("NoDataForUpdate", "No data given for the update.")
    changes = {}
    for name in request.update_mask:
        if name not in patchable:
            raise bad_request("PropertyNotEditable", f"The property '{name}' is not editable.")
        field, read = patchable[name]
        changes[field] = read(request)
    return changes
