"""openEO error codes the gateway answers with, and a helper to raise them.

`SPEC_ERRORS` is the code -> (HTTP status, message) table of the official openEO API 1.2.0
errors.json (as data; nothing reads the spec at run time), limited to the codes this backend
can produce. `GATEWAY_ERRORS` are backend-specific codes for transport-level problems that the
spec has no code for (the spec allows back-end specific codes).
"""

from __future__ import annotations

from backend_common.errors import OpenEOError

SPEC_ERRORS: dict[str, tuple[int, str]] = {
    "Internal": (500, "Server error: an internal error occurred."),
    "NotFound": (404, "Resource not found."),
    "FeatureUnsupported": (501, "Feature not supported."),
    "NoDataForUpdate": (400, "No data specified to be updated."),
    "PropertyNotEditable": (400, "The specified property is read-only."),
    "CollectionNotFound": (404, "Collection does not exist."),
    "ProcessGraphNotFound": (404, "User-defined process does not exist."),
    "ProcessInvalid": (400, "Invalid process specified."),
    "ProcessGraphMissing": (400, "Invalid process specified. It doesn't contain a process graph."),
    "ProcessGraphInvalid": (400, "Invalid process graph specified."),
    "PredefinedProcessExists": (400, "A predefined process with the given identifier exists."),
    "JobNotFound": (404, "The batch job does not exist."),
    "JobLocked": (400, "Batch job is locked due to a queued or running batch computation."),
    "JobNotFinished": (400, "Batch job has not finished computing the results yet. Please try again later."),
    "ResultLinkExpired": (410, "The link to the batch job result has expired. Please request the results again."),
    "BillingPlanInvalid": (400, "The billing plan is invalid."),
    "BudgetInvalid": (400, "The specified budget is too low."),
    "PaymentRequired": (402, "The budget required to fulfil the request is not sufficient. A payment is required first."),
    "AuthenticationRequired": (401, "Unauthorized."),
    "AuthenticationSchemeInvalid": (403, "Authentication method not supported."),
    "TokenInvalid": (403, "Authorization token has expired or is invalid. Please authenticate again."),
    "CredentialsInvalid": (403, "Credentials are not correct."),
    "ServiceNotFound": (404, "Service does not exist."),
    "ServiceUnsupported": (400, "Service type is not supported."),
    "ServiceConfigUnsupported": (400, "Service parameter is not supported."),
    "ServiceConfigInvalid": (400, "The value passed for a service parameter is invalid."),
    "ProcessGraphComplexity": (400, "The process is too complex for synchronous processing. Please use a batch job instead."),
    "ContentTypeInvalid": (400, "The media type is not supported."),
}

GATEWAY_ERRORS: dict[str, tuple[int, str]] = {
    # HTTP method not routed for an existing path.
    "MethodNotAllowed": (405, "The HTTP method is not allowed for this endpoint."),
    # Request body is not valid JSON / not a JSON object.
    "JsonInvalid": (400, "The request body is not a valid JSON object."),
    # Request body larger than GATEWAY_MAX_BODY_BYTES.
    "PayloadTooLarge": (413, "The request body is too large."),
    # The request body did not arrive within GATEWAY_BODY_TIMEOUT_SECONDS.
    "RequestTimeout": (408, "The request did not arrive in time."),
    # A request header / the URL longer than GATEWAY_MAX_HEADER_BYTES (gateway/middleware/limits.py).
    "HeaderTooLarge": (431, "A request header is too large."),
    "UriTooLong": (414, "The request URL is too long."),
    # A query or path parameter has an invalid value (limit, level, z/x/y, ...).
    "ParameterInvalid": (400, "A request parameter is invalid."),
    # A Range header none of whose ranges lies within the file (result asset downloads).
    "RangeNotSatisfiable": (416, "The requested range is not satisfiable."),
    # A limit of the user's billing plan is reached (429 with Retry-After, gateway/quotas.py).
    "QuotaExceeded": (429, "A limit of your billing plan is reached. Please try again later."),
    # A backend service is down or too slow (same code backend_common.errors uses).
    "ServiceUnavailable": (503, "The service is temporarily unavailable. Please try again later."),
}

ALL_ERRORS = {**SPEC_ERRORS, **GATEWAY_ERRORS}


def api_error(code: str, message: str | None = None, status: int | None = None) -> OpenEOError:
    """An `OpenEOError` for `code` with the table's status (and message unless given)."""
    default_status, default_message = ALL_ERRORS.get(code, (500, "Server error."))
    return OpenEOError(code, message or default_message, status or default_status)
